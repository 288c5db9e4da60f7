package embedded

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// errNotRedis means something answered on the port, but not in the Redis protocol.
var errNotRedis = errors.New("not a Redis server")

// respError is an error reply from Redis ("-ERR ...", "-LOADING ...").
type respError string

func (e respError) Error() string { return string(e) }

// command sends one command to the Redis at addr and reads its reply. It is enough for
// the few commands the supervisor needs (PING, CONFIG GET, SHUTDOWN) without pulling a
// client library's connection pool, retries and logging into a process supervisor.
// The whole exchange is bounded by timeout, so a plain TCP listener that never answers
// costs at most that long.
func command(addr string, timeout time.Duration, args ...string) (any, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(conn), 0)
}

// readReply parses one RESP2 reply. depth bounds nesting so a hostile peer cannot
// recurse us into the ground.
func readReply(r *bufio.Reader, depth int) (any, error) {
	if depth > 4 {
		return nil, errNotRedis
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, errNotRedis
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, respError(body)
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, errNotRedis
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n > 1<<20 {
			return nil, errNotRedis
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n > 1024 {
			return nil, errNotRedis
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, 0, n)
		for range n {
			v, err := readReply(r, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	default:
		return nil, errNotRedis
	}
}
