package e2e

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// socket is one socket a process holds, as the kernel's tables show it.
type socket struct {
	Table  string // tcp, tcp6, udp, udp6, unix, raw, raw6, or "other"
	Inode  string
	Local  netip.AddrPort // inet tables only
	Remote netip.AddrPort
	State  string // hex state for inet (0A = LISTEN, 01 = ESTABLISHED); flags for unix
	Path   string // unix only
}

// Listening reports whether the socket accepts connections or datagrams:
// a TCP socket in LISTEN, any UDP or raw socket (a bound UDP socket
// receives from anyone), or a unix socket with __SO_ACCEPTCON.
func (s socket) Listening() bool {
	switch s.Table {
	case "tcp", "tcp6":
		return s.State == "0A"
	case "udp", "udp6", "raw", "raw6":
		return true
	case "unix":
		f, _ := strconv.ParseUint(s.State, 16, 32)
		return f&0x00010000 != 0
	}
	return false
}

func (s socket) String() string {
	if s.Table == "unix" {
		return fmt.Sprintf("%s inode %s flags %s %q", s.Table, s.Inode, s.State, s.Path)
	}
	return fmt.Sprintf("%s inode %s %v -> %v state %s", s.Table, s.Inode, s.Local, s.Remote, s.State)
}

// processSockets lists the sockets among pid's open files, looked up in
// the kernel's tables of pid's network namespace.
func processSockets(t testing.TB, pid int) []socket {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("listing fds of %d: %v", pid, err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	var out []socket
	netDir := fmt.Sprintf("/proc/%d/net", pid)
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6", "raw", "raw6"} {
		for _, s := range readInetTable(t, filepath.Join(netDir, table), table) {
			if inodes[s.Inode] {
				out = append(out, s)
				delete(inodes, s.Inode)
			}
		}
	}
	for _, s := range readUnixTable(t, filepath.Join(netDir, "unix")) {
		if inodes[s.Inode] {
			out = append(out, s)
			delete(inodes, s.Inode)
		}
	}
	for ino := range inodes { // netlink, packet…: not in the tables above
		out = append(out, socket{Table: "other", Inode: ino})
	}
	return out
}

// procRows returns the whitespace-split rows of a /proc/net table, without
// its header line.
func procRows(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		rows = append(rows, strings.Fields(sc.Text()))
	}
	return rows
}

// readInetTable parses /proc/net/{tcp,tcp6,udp,udp6,raw,raw6}.
func readInetTable(t testing.TB, path, table string) []socket {
	t.Helper()
	var out []socket
	for _, fs := range procRows(t, path) {
		if len(fs) < 10 {
			continue
		}
		out = append(out, socket{Table: table, Local: parseProcAddr(t, fs[1]), Remote: parseProcAddr(t, fs[2]),
			State: fs[3], Inode: fs[9]})
	}
	return out
}

// parseProcAddr parses "0100007F:1F90": an address as 32-bit words in host
// (little-endian) order, then the port in hex.
func parseProcAddr(t testing.TB, s string) netip.AddrPort {
	t.Helper()
	a, p, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(a)
	port, err2 := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil || err2 != nil || (len(raw) != 4 && len(raw) != 16) {
		t.Fatalf("cannot parse socket address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port))
}

// readUnixTable parses /proc/net/unix: Num RefCount Protocol Flags Type St Inode [Path].
func readUnixTable(t testing.TB, path string) []socket {
	t.Helper()
	var out []socket
	for _, fs := range procRows(t, path) {
		if len(fs) < 7 {
			continue
		}
		s := socket{Table: "unix", State: fs[3], Inode: fs[6]}
		if len(fs) > 7 {
			s.Path = fs[7]
		}
		out = append(out, s)
	}
	return out
}

// listeningSockets returns the sockets of pid that accept connections or
// datagrams.
func listeningSockets(t testing.TB, pid int) []socket {
	t.Helper()
	var out []socket
	for _, s := range processSockets(t, pid) {
		if s.Listening() {
			out = append(out, s)
		}
	}
	return out
}

// connectedTo reports whether pid holds an established TCP connection to
// port on loopback.
func connectedTo(t testing.TB, pid, port int) bool {
	t.Helper()
	for _, s := range processSockets(t, pid) {
		if (s.Table == "tcp" || s.Table == "tcp6") && s.State == "01" && int(s.Remote.Port()) == port {
			return true
		}
	}
	return false
}

// vmHWM reads a process's peak resident set size, in bytes.
func vmHWM(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading status of %d: %v", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("bad VmHWM line %q", l)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// processState returns the state letter in /proc/PID/stat (R, S, T…).
func processState(t testing.TB, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("reading stat of %d: %v", pid, err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		t.Fatalf("bad /proc/%d/stat: %q", pid, s)
	}
	return s[i+2 : i+3]
}
