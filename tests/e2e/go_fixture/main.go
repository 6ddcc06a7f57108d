// SPDX-License-Identifier: GPL-2.0-or-later
//
// HTTPS server and client (standard library only) for tlsdump's Go e2e tests
// (tests/e2e/test_go_*.py). One binary, several modes, so the client runs the
// very file whose probes the server's discovery already attached.
//
//	server -cert C -key K -port-file F -log L
//	    listens on 127.0.0.1:0 (HTTP/2 via ALPN, and HTTP/1.1), writes the
//	    port to F once listening. Handlers:
//	      /hello         "hello from go <marker>"
//	      /big?size=N&seed=S
//	                     N bytes: sha256(S ":" i) for i = 0, 1, ... concatenated
//	      /echo (POST)   "echo:" body ":resp-<n>" ; appends one JSON line
//	                     {remote, proto, body, marker} to L
//	client -base URL [-h1] [-tls12] [-keylog F] [-linger D] [-out F] ACTION...
//	    get:PATH, post:PATH:BODY (one client, sequential), or
//	    concurrent:N:H2TRANSPORTS:H1CONNS:TAG — N POSTs to /echo at once over
//	    H2TRANSPORTS HTTP/2 transports (MaxConnsPerHost 1: one connection
//	    each, its requests multiplexed) and
//	    one HTTP/1.1 transport of at most H1CONNS connections.
//	    -tls12 caps the TLS version at 1.2; -keylog appends Go's own NSS key
//	    log lines (tls.Config.KeyLogWriter) to F, the oracle for the secrets
//	    tlsdump takes from writeKeyLog. -linger keeps the process and its
//	    connections for D after the last action.
//	    Writes one JSON object per line to F (or stdout) per request:
//	    {action, status, proto, local, len, sha256, body (if short)}.
//	stallserver -cert C -key K -port-file F -bytes N -close-after D
//	    plain crypto/tls: accepts one connection, reads "hello\n", writes
//	    "greeting\n", then writes N bytes in one tls.Conn.Write from another
//	    goroutine; the client does not read, so that Write blocks until the
//	    main goroutine closes the connection after D. Prints
//	    {"local", "remote", "written", "err"} (the Write's results) and exits.
//	stallclient -addr HOST:PORT -linger D
//	    writes "hello\n", reads "greeting\n", prints {"local"}, then reads
//	    nothing more for D and exits.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gofixture: "+format+"\n", args...)
	os.Exit(1)
}

// bigBody returns size bytes: sha256(seed ":" i) for i = 0, 1, ...
func bigBody(seed string, size int) []byte {
	out := make([]byte, 0, size+32)
	for i := 0; len(out) < size; i++ {
		h := sha256.Sum256([]byte(seed + ":" + strconv.Itoa(i)))
		out = append(out, h[:]...)
	}
	return out[:size]
}

func server(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	cert := fs.String("cert", "", "certificate PEM")
	key := fs.String("key", "", "key PEM")
	portFile := fs.String("port-file", "", "file receiving the port")
	logPath := fs.String("log", "", "echo log (JSON lines)")
	fs.Parse(args)

	var logMu sync.Mutex
	var logFile *os.File
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0644)
		if err != nil {
			die("%v", err)
		}
		logFile = f
	}
	var counter int64
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello from go %s %s", r.Proto, r.URL.Query().Get("marker"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		size, err := strconv.Atoi(r.URL.Query().Get("size"))
		if err != nil || size < 0 || size > 256<<20 {
			http.Error(w, "bad size", 400)
			return
		}
		body := bigBody(r.URL.Query().Get("seed"), size)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for len(body) > 0 {
			n := 32 << 10
			if n > len(body) {
				n = len(body)
			}
			if _, err := w.Write(body[:n]); err != nil {
				return
			}
			body = body[n:]
		}
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		marker := fmt.Sprintf("resp-%d", atomic.AddInt64(&counter, 1))
		if logFile != nil {
			line, _ := json.Marshal(map[string]string{"remote": r.RemoteAddr, "proto": r.Proto,
				"body": string(body), "marker": marker})
			logMu.Lock()
			logFile.Write(append(line, '\n'))
			logMu.Unlock()
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "echo:"+string(body)+":"+marker)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		die("%v", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	if *portFile != "" {
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		tmp := *portFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(port), 0644); err != nil {
			die("%v", err)
		}
		if err := os.Rename(tmp, *portFile); err != nil {
			die("%v", err)
		}
	}
	// ServeTLS configures HTTP/2 (ALPN h2, http/1.1).
	die("%v", srv.ServeTLS(ln, *cert, *key))
}

type result struct {
	Action string `json:"action"`
	Status int    `json:"status"`
	Proto  string `json:"proto"`
	Local  string `json:"local"`
	Len    int    `json:"len"`
	Sha256 string `json:"sha256"`
	Body   string `json:"body,omitempty"`
	Sent   string `json:"sent,omitempty"`
	Index  int    `json:"index"`
}

// Client TLS settings (flags).
var (
	tls12     bool
	keyLogOut io.Writer
)

func newTransport(h1 bool, maxConns int) *http.Transport {
	cfg := &tls.Config{InsecureSkipVerify: true, KeyLogWriter: keyLogOut}
	if tls12 {
		cfg.MaxVersion = tls.VersionTLS12
	}
	t := &http.Transport{
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: !h1,
		MaxConnsPerHost:   maxConns,
		IdleConnTimeout:   60 * time.Second,
	}
	if h1 {
		t.TLSClientConfig.NextProtos = []string{"http/1.1"}
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return t
}

func do(client *http.Client, method, url, action string, body []byte) result {
	var local string
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		local = info.Conn.LocalAddr().String()
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, url, rd)
	if err != nil {
		die("%s: %v", action, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		die("%s: %v", action, err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		die("%s: reading the body: %v", action, err)
	}
	sum := sha256.Sum256(data)
	r := result{Action: action, Status: resp.StatusCode, Proto: resp.Proto, Local: local,
		Len: len(data), Sha256: hex.EncodeToString(sum[:])}
	if len(data) <= 64<<10 {
		r.Body = string(data)
	}
	if body != nil {
		r.Sent = string(body)
	}
	return r
}

func client(args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	base := fs.String("base", "", "https://127.0.0.1:PORT")
	h1 := fs.Bool("h1", false, "HTTP/1.1 only")
	outPath := fs.String("out", "", "results (JSON lines), default stdout")
	fs.BoolVar(&tls12, "tls12", false, "TLS 1.2 at most")
	keyLog := fs.String("keylog", "", "append NSS key log lines to this file")
	linger := fs.Duration("linger", 0, "stay (connections open) this long after the last action")
	fs.Parse(args)
	if *keyLog != "" {
		f, err := os.OpenFile(*keyLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0600)
		if err != nil {
			die("%v", err)
		}
		defer f.Close()
		keyLogOut = f
	}
	out := os.Stdout
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			die("%v", err)
		}
		defer f.Close()
		out = f
	}
	enc := json.NewEncoder(out)
	c := &http.Client{Transport: newTransport(*h1, 0)}
	for _, action := range fs.Args() {
		parts := strings.SplitN(action, ":", 3)
		switch parts[0] {
		case "get":
			enc.Encode(do(c, "GET", *base+parts[1], action, nil))
		case "post":
			if len(parts) != 3 {
				die("post:PATH:BODY")
			}
			enc.Encode(do(c, "POST", *base+parts[1], action, []byte(parts[2])))
		case "concurrent":
			concurrent(*base, action, enc)
		default:
			die("unknown action %q", action)
		}
	}
	time.Sleep(*linger)
}

func concurrent(base, action string, enc *json.Encoder) {
	p := strings.Split(action, ":")
	if len(p) != 5 {
		die("concurrent:N:H2TRANSPORTS:H1CONNS:TAG")
	}
	n, _ := strconv.Atoi(p[1])
	nh2, _ := strconv.Atoi(p[2])
	h1conns, _ := strconv.Atoi(p[3])
	tag := p[4]
	var clients []*http.Client
	for i := 0; i < nh2; i++ {
		// One connection per HTTP/2 transport: its requests are multiplexed.
		clients = append(clients, &http.Client{Transport: newTransport(false, 1)})
	}
	if h1conns > 0 {
		clients = append(clients, &http.Client{Transport: newTransport(true, h1conns)})
	}
	if len(clients) == 0 {
		die("no transport")
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	bodies := make([][]byte, n)
	for i := range bodies {
		var b strings.Builder
		fmt.Fprintf(&b, "req-%d-%s-%08x-", i, tag, rng.Uint32())
		pad := rng.Intn(3000)
		for j := 0; j < pad; j++ {
			b.WriteByte("abcdefghijklmnopqrstuvwxyz"[rng.Intn(26)])
		}
		b.WriteString("-end")
		bodies[i] = []byte(b.String())
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			results[i] = do(clients[i%len(clients)], "POST", base+"/echo", action, bodies[i])
			results[i].Index = i
		}(i)
	}
	close(start)
	wg.Wait()
	for _, r := range results {
		enc.Encode(r)
	}
}

func stallServer(args []string) {
	fs := flag.NewFlagSet("stallserver", flag.ExitOnError)
	certFile := fs.String("cert", "", "certificate PEM")
	keyFile := fs.String("key", "", "key PEM")
	portFile := fs.String("port-file", "", "file receiving the port")
	size := fs.Int("bytes", 64<<20, "size of the stalled write")
	closeAfter := fs.Duration("close-after", time.Second, "close the connection after")
	fs.Parse(args)
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		die("%v", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		die("%v", err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	if err := os.WriteFile(*portFile+".tmp", []byte(port), 0644); err != nil {
		die("%v", err)
	}
	if err := os.Rename(*portFile+".tmp", *portFile); err != nil {
		die("%v", err)
	}
	c, err := ln.Accept()
	if err != nil {
		die("%v", err)
	}
	line := make([]byte, 6)
	if _, err := io.ReadFull(c, line); err != nil || string(line) != "hello\n" {
		die("reading hello: %q %v", line, err)
	}
	if _, err := io.WriteString(c, "greeting\n"); err != nil {
		die("%v", err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result)
	go func() {
		n, err := c.Write(bytes.Repeat([]byte("stalled-write-data-"), *size/19+1)[:*size])
		done <- result{n, err}
	}()
	time.Sleep(*closeAfter)
	c.Close()
	r := <-done
	errText := ""
	if r.err != nil {
		errText = r.err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{"local": c.LocalAddr().String(),
		"remote": c.RemoteAddr().String(), "written": r.n, "err": errText})
}

func stallClient(args []string) {
	fs := flag.NewFlagSet("stallclient", flag.ExitOnError)
	addr := fs.String("addr", "", "HOST:PORT")
	linger := fs.Duration("linger", 3*time.Second, "time to stay connected without reading")
	fs.Parse(args)
	c, err := tls.Dial("tcp", *addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		die("%v", err)
	}
	if _, err := io.WriteString(c, "hello\n"); err != nil {
		die("%v", err)
	}
	line := make([]byte, 9)
	if _, err := io.ReadFull(c, line); err != nil || string(line) != "greeting\n" {
		die("reading greeting: %q %v", line, err)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]string{"local": c.LocalAddr().String()})
	time.Sleep(*linger)
}

func main() {
	if len(os.Args) < 2 {
		die("usage: server|client ...")
	}
	switch os.Args[1] {
	case "server":
		server(os.Args[2:])
	case "client":
		client(os.Args[2:])
	case "stallserver":
		stallServer(os.Args[2:])
	case "stallclient":
		stallClient(os.Args[2:])
	default:
		die("unknown mode %q", os.Args[1])
	}
}
