package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf16"
)

// textTypes are the media types whose bodies hold links.
var textTypes = []string{
	"text/html", "application/xhtml+xml", "text/css",
	"text/javascript", "application/javascript", "application/x-javascript", "application/ecmascript", "text/ecmascript",
	"application/json", "text/json", "text/xml", "application/xml",
}

// translatable reports whether a Content-Type names a text format with
// links: one of textTypes, a +json or +xml type, or one of extra.
func translatable(contentType string, extra []string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	for _, t := range append(textTypes, extra...) {
		if mt == t {
			return true
		}
	}
	return strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

// translateBody rewrites a body of a translatable type. It undoes gzip
// (the result is sent uncompressed) and respects the charset: bodies in
// ASCII-compatible charsets are rewritten as bytes, UTF-16 is transcoded,
// and anything else is left alone. reason says why a body was left alone.
func translateBody(contentType, contentEncoding string, body []byte, limit int, r *rewriter) (out []byte, changed bool, reason string) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, false, fmt.Sprintf("the gzip body is corrupt: %v", err)
		}
		plain, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil {
			return nil, false, fmt.Sprintf("the gzip body is corrupt: %v", err)
		}
		if len(plain) > limit {
			return nil, false, fmt.Sprintf("the body is larger than %d bytes once decompressed", limit)
		}
		body = plain
	default:
		return nil, false, fmt.Sprintf("content-encoding %q cannot be decoded here", contentEncoding)
	}
	_, params, _ := mime.ParseMediaType(contentType)
	cs := strings.ToLower(params["charset"])
	if cs == "" {
		cs = sniffCharset(contentType, body)
	}
	switch {
	case asciiCompatible(cs):
		out, changed = r.rewrite(body)
	case cs == "utf-16" || cs == "utf-16le" || cs == "utf-16be":
		out, changed, reason = rewriteUTF16(body, cs, r)
	default:
		return nil, false, fmt.Sprintf("charset %q: bytes of a URL could be part of other characters", cs)
	}
	if !changed && contentEncoding != "" && reason == "" {
		return nil, false, "" // nothing to translate: keep the compressed original
	}
	return out, changed, reason
}

// sniffCharset finds the charset of a body whose Content-Type names none:
// a byte order mark, an HTML meta charset or a CSS @charset in the first
// 1024 bytes; "" (assumed ASCII-compatible) otherwise.
func sniffCharset(contentType string, body []byte) string {
	switch {
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		return "utf-8"
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		return "utf-16le"
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		return "utf-16be"
	}
	head := bytes.ToLower(body[:min(len(body), 1024)])
	key := []byte("charset=")
	if strings.Contains(contentType, "css") {
		key = []byte(`@charset "`)
	}
	i := bytes.Index(head, key)
	if i < 0 {
		return ""
	}
	v := bytes.TrimLeft(head[i+len(key):], `"' `)
	end := bytes.IndexFunc(v, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') })
	if end < 0 {
		end = len(v)
	}
	return string(v[:end])
}

// asciiCompatible reports whether every byte below 0x80 in the charset
// is the ASCII character, so a URL can be found and replaced as bytes.
// (Shift_JIS, GBK, Big5 and ISO-2022 reuse ASCII bytes inside characters.)
func asciiCompatible(cs string) bool {
	switch {
	case cs == "" || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii" || cs == "latin1":
		return true
	case strings.HasPrefix(cs, "iso-8859-"), strings.HasPrefix(cs, "windows-125"), strings.HasPrefix(cs, "cp125"),
		strings.HasPrefix(cs, "koi8-"):
		return true
	case cs == "euc-jp" || cs == "euc-kr" || cs == "gb2312":
		return true // both bytes of a character are 0xA1 or above
	}
	return false
}

// rewriteUTF16 transcodes to UTF-8, rewrites and transcodes back, keeping
// the byte order and the byte order mark.
func rewriteUTF16(body []byte, cs string, r *rewriter) ([]byte, bool, string) {
	if len(body)%2 != 0 {
		return nil, false, "the UTF-16 body has an odd length"
	}
	var order interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.BigEndian
	bom := []byte(nil)
	switch {
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		order, bom, body = binary.LittleEndian, body[:2], body[2:]
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		bom, body = body[:2], body[2:]
	case cs == "utf-16le":
		order = binary.LittleEndian
	}
	units := make([]uint16, len(body)/2)
	for i := range units {
		units[i] = order.Uint16(body[2*i:])
	}
	out, changed := r.rewrite([]byte(string(utf16.Decode(units))))
	if !changed {
		return nil, false, ""
	}
	enc := utf16.Encode([]rune(string(out)))
	res := append([]byte(nil), bom...)
	for _, u := range enc {
		res = order.AppendUint16(res, u)
	}
	return res, true, ""
}

// weakETag turns a strong ETag into a weak one: the translated body is
// not byte-identical to the app's.
func weakETag(etag string) string {
	if etag == "" || strings.HasPrefix(etag, "W/") {
		return etag
	}
	return "W/" + etag
}
