package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat. Linux reports
// them in USER_HZ, which is 100 on every architecture Go supports here.
const userHZ = 100

// procSample is one reading of a process's CPU time and resident memory.
type procSample struct {
	cpuSeconds float64 // utime + stime
	rssKB      int64
}

// readProc reads /proc/<pid>/stat and /proc/<pid>/status under root (which
// is "/proc" outside tests).
func readProc(root string, pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return s, fmt.Errorf("server pid %d: %w", pid, err)
	}
	if s.cpuSeconds, err = parseStatCPU(stat); err != nil {
		return s, fmt.Errorf("server pid %d: %w", pid, err)
	}
	status, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "status"))
	if err != nil {
		return s, fmt.Errorf("server pid %d: %w", pid, err)
	}
	if s.rssKB, err = parseStatusRSS(status); err != nil {
		return s, fmt.Errorf("server pid %d: %w", pid, err)
	}
	return s, nil
}

// parseStatCPU returns utime+stime in seconds. The command name (field 2)
// may hold spaces and parentheses, so fields are counted after the last ')'.
func parseStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed stat: %d fields", len(f)+2)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed stat utime/stime")
	}
	return float64(utime+stime) / userHZ, nil
}

// parseStatusRSS returns VmRSS in kB.
func parseStatusRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in status")
}

// findListener returns the pid of the process with a TCP socket listening
// on port: the socket's inode from /proc/net/tcp and tcp6, then the process
// whose /proc/<pid>/fd holds "socket:[inode]".
func findListener(root string, port int) (int, error) {
	inodes := map[string]bool{}
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(root, "net", name))
		if err != nil {
			continue // no IPv6, for one
		}
		for _, ino := range listenInodes(b, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no process listens on TCP port %d", port)
	}

	procs, err := os.ReadDir(root)
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join(root, p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // gone, or not ours to read
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			if ino, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(ino, "]")] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("TCP port %d is listened on, but no readable process holds the socket", port)
}

// listenInodes returns the inodes of sockets in LISTEN state (0A) on port,
// from the text of /proc/net/tcp or tcp6.
func listenInodes(table []byte, port int) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		out = append(out, f[9])
	}
	return out
}

// socketDrops sums the kernel's drop counters (the last column of
// /proc/net/udp and udp6) over the UDP sockets that process pid holds.
// Packets dropped there never reached the viewer: if this is not zero, the
// load tool itself lost them (raise net.core.rmem_max), not the server.
func socketDrops(root string, pid int) (uint64, error) {
	fdDir := filepath.Join(root, strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return 0, err
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			mine[strings.TrimSuffix(ino, "]")] = true
		}
	}
	var total uint64
	for _, name := range []string{"udp", "udp6"} {
		b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "net", name))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // header
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
			if len(f) < 13 || !mine[f[9]] {
				continue
			}
			if d, err := strconv.ParseUint(f[len(f)-1], 10, 64); err == nil {
				total += d
			}
		}
	}
	return total, nil
}

// rmemMax returns net.core.rmem_max, the cap on socket receive buffers.
func rmemMax(root string) (int, error) {
	b, err := os.ReadFile(filepath.Join(root, "sys", "net", "core", "rmem_max"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
