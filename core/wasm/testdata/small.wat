;; small.wat: the benchmarks' WAT filter, doing what the Go benchmark
;; filter does: look up a request header, set another, pass on.
(module
  (import "http_handler" "get_header_values"
    (func $get_header_values (param i32 i32 i32 i32 i32) (result i64)))
  (import "http_handler" "set_header_value"
    (func $set_header_value (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-sdk")
  (data (i32.const 16) "X-Wat")
  (data (i32.const 32) "1")
  (func (export "handle_request") (result i64)
    (drop (call $get_header_values (i32.const 0) (i32.const 0) (i32.const 5) (i32.const 64) (i32.const 256)))
    (call $set_header_value (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 32) (i32.const 1))
    (i64.const 1))
  (func (export "handle_response") (param i32 i32)))
