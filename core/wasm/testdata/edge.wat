;; edge.wat: a guest that misbehaves on request, for the host's failure
;; tests. A request header picks the misbehaviour; without one the guest
;; sets the request header X-Wat: 1 and passes the request on.
(module
  (import "http_handler" "get_header_values"
    (func $get_header_values (param i32 i32 i32 i32 i32) (result i64)))
  (import "http_handler" "set_header_value"
    (func $set_header_value (param i32 i32 i32 i32 i32)))
  (import "http_handler" "enable_features"
    (func $enable_features (param i32) (result i32)))
  (import "http_handler" "get_uri" (func $get_uri (param i32 i32) (result i32)))
  (import "http_handler" "log" (func $log (param i32 i32 i32)))

  (memory (export "memory") 1)
  (data (i32.const 0) "x-loop")
  (data (i32.const 16) "x-grow")
  (data (i32.const 32) "x-unreachable")
  (data (i32.const 48) "x-late-header")
  (data (i32.const 64) "x-stack")
  (data (i32.const 80) "x-oob")
  (data (i32.const 96) "x-log-oob")
  (data (i32.const 112) "X-Wat")
  (data (i32.const 128) "1")

  ;; has reports whether the request has the header name[0:len]: a probe
  ;; with buf_limit 0 returns the count without writing.
  (func $has (param $name i32) (param $len i32) (result i32)
    (i64.ne
      (call $get_header_values (i32.const 0) (local.get $name) (local.get $len) (i32.const 0) (i32.const 0))
      (i64.const 0)))

  (func $recurse (param $n i32) (result i32)
    (call $recurse (i32.add (local.get $n) (i32.const 1))))

  (func (export "handle_request") (result i64)
    ;; x-loop: never returns; the deadline must stop it.
    (if (call $has (i32.const 0) (i32.const 6))
      (then (loop $forever (br $forever))))
    ;; x-grow: grow memory until the limit refuses, then trap.
    (if (call $has (i32.const 16) (i32.const 6))
      (then
        (loop $grow
          (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
        (unreachable)))
    (if (call $has (i32.const 32) (i32.const 13))
      (then (unreachable)))
    ;; x-stack: unbounded recursion.
    (if (call $has (i32.const 64) (i32.const 7))
      (then (drop (call $recurse (i32.const 0)))))
    ;; x-oob: a buffer that ends past memory: the host must trap.
    (if (call $has (i32.const 80) (i32.const 5))
      (then (drop (call $get_uri (i32.const 65535) (i32.const 100)))))
    ;; x-log-oob: a log message past memory: the host must not trap.
    (if (call $has (i32.const 96) (i32.const 9))
      (then (call $log (i32.const 0) (i32.const 70000) (i32.const 10))))
    ;; x-late-header: buffer the response, pass on with ctx 1; then
    ;; handle_response changes a request header, which must trap.
    (if (call $has (i32.const 48) (i32.const 13))
      (then
        (drop (call $enable_features (i32.const 2)))
        (return (i64.const 0x100000001))))
    (call $set_header_value (i32.const 0) (i32.const 112) (i32.const 5) (i32.const 128) (i32.const 1))
    (i64.const 1))

  (func (export "handle_response") (param $ctx i32) (param $is_error i32)
    (if (i32.eq (local.get $ctx) (i32.const 1))
      (then
        (call $set_header_value (i32.const 0) (i32.const 112) (i32.const 5) (i32.const 128) (i32.const 1))))))
