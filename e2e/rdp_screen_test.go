package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// xvfb is an X server without a screen, on a display number it picks
// itself (-displayfd), so parallel runs never collide.
type xvfb struct {
	display string // ":N"
	proc    *proc
}

func startXvfb(t *testing.T, bin string) *xvfb {
	t.Helper()
	// -displayfd 1: Xvfb picks a free display and prints its number on
	// stdout once it accepts clients.
	p := startProc(t, "Xvfb", bin, "-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-br")
	var n string
	eventually(t, "Xvfb to print its display number", func() bool {
		s := p.stdout.String()
		if i := strings.IndexByte(s, '\n'); i > 0 {
			n = strings.TrimSpace(s[:i])
			return true
		}
		p.requireAlive(t)
		return false
	})
	return &xvfb{display: ":" + n, proc: p}
}

// screenshot dumps the X display with xwd and decodes it.
func (x *xvfb) screenshot(t *testing.T, xwdBin string) image.Image {
	t.Helper()
	out, err := exec.Command(xwdBin, "-root", "-silent", "-display", x.display).Output()
	if err != nil {
		t.Fatalf("xwd -root -display %s: %v", x.display, err)
	}
	img, err := decodeXWD(out)
	if err != nil {
		t.Fatalf("decoding xwd's dump of %s: %v", x.display, err)
	}
	return img
}

// decodeXWD decodes an X Window Dump of a TrueColor ZPixmap with 24 or 32
// bits per pixel, as xwd writes for Xvfb's 24-bit screen. The header is
// 25 big-endian 32-bit fields, then the window name, then the colormap
// (12 bytes an entry), then the rows.
func decodeXWD(b []byte) (image.Image, error) {
	if len(b) < 100 {
		return nil, fmt.Errorf("%d bytes: shorter than the XWD header", len(b))
	}
	var h [25]uint32
	for i := range h {
		h[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	headerSize, version, format := h[0], h[1], h[2]
	width, height, byteOrder, bpp, bytesPerLine := int(h[4]), int(h[5]), h[7], int(h[11]), int(h[12])
	masks := [3]uint32{h[14], h[15], h[16]}
	ncolors := int(h[19])
	if version != 7 || format != 2 {
		return nil, fmt.Errorf("XWD version %d, format %d: want version 7, ZPixmap (2)", version, format)
	}
	if bpp != 24 && bpp != 32 {
		return nil, fmt.Errorf("%d bits per pixel: want 24 or 32", bpp)
	}
	off := int(headerSize) + 12*ncolors
	if width <= 0 || height <= 0 || bytesPerLine < width*bpp/8 || off < 100 || off+height*bytesPerLine > len(b) {
		return nil, fmt.Errorf("%dx%d, %d bytes a row, data at %d: does not fit in %d bytes", width, height, bytesPerLine, off, len(b))
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	step := bpp / 8
	for y := range height {
		row := b[off+y*bytesPerLine:]
		for x := range width {
			var px uint32
			for k := range step {
				if byteOrder == 0 { // LSBFirst
					px |= uint32(row[x*step+k]) << (8 * k)
				} else {
					px = px<<8 | uint32(row[x*step+k])
				}
			}
			img.SetRGBA(x, y, color.RGBA{channel(px, masks[0]), channel(px, masks[1]), channel(px, masks[2]), 0xff})
		}
	}
	return img, nil
}

// channel extracts one 8-bit colour channel of px under mask.
func channel(px, mask uint32) uint8 {
	if mask == 0 {
		return 0
	}
	v := (px & mask) >> bits.TrailingZeros32(mask)
	if n := bits.OnesCount32(mask); n < 8 {
		v <<= 8 - n
	} else {
		v >>= n - 8
	}
	return uint8(v)
}

// colourStats counts the distinct colours of img and the pixels of each
// colour in want.
func colourStats(img image.Image, want ...color.RGBA) (distinct int, counts []int) {
	seen := map[color.RGBA]bool{}
	counts = make([]int, len(want))
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			for i, w := range want {
				if c == w {
					counts[i]++
				}
			}
		}
	}
	return len(seen), counts
}

// saveArtifact keeps img as a PNG under e2e/artifacts/<sub>/ (or
// $GATEHOUSE_ARTIFACTS) and returns its absolute path.
func saveArtifact(t *testing.T, sub, name string, img image.Image) string {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("artifacts", sub)
	}
	must(t, os.MkdirAll(dir, 0o755))
	var buf bytes.Buffer
	must(t, png.Encode(&buf, img))
	p, _ := filepath.Abs(filepath.Join(dir, name))
	must(t, os.WriteFile(p, buf.Bytes(), 0o644))
	t.Logf("screenshot: %s (%d bytes)", p, buf.Len())
	return p
}
