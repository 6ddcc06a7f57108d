// Prints, through reflect, the offsets of the struct members go_dwarf.c reads
// from DWARF: an independent source built by the same toolchain. reflect
// reaches unexported fields (FieldByName, Offset), but not runtime.g: its goid
// offset comes from the compiler's go_asm.h instead (see build_fixtures.sh).
// Output: "<DWARF type name> <member> <offset>" per line.
package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"reflect"
)

func field(t reflect.Type, name string) reflect.StructField {
	f, ok := t.FieldByName(name)
	if !ok {
		panic(t.String() + " has no field " + name)
	}
	return f
}

func main() {
	tlsConn := reflect.TypeOf((*tls.Conn)(nil)).Elem()
	tcpConn := reflect.TypeOf((*net.TCPConn)(nil)).Elem()
	tcpAddr := reflect.TypeOf((*net.TCPAddr)(nil)).Elem()
	conn := field(tcpConn, "conn").Type    // net.conn
	netFD := field(conn, "fd").Type.Elem() // net.netFD
	pollFD := field(netFD, "pfd").Type     // internal/poll.FD

	out := []struct {
		typ, member string
		f           reflect.StructField
	}{
		{"crypto/tls.Conn", "conn", field(tlsConn, "conn")},
		{"net.TCPConn", "conn", field(tcpConn, "conn")},
		{"net.conn", "fd", field(conn, "fd")},
		{"net.netFD", "pfd", field(netFD, "pfd")},
		{"internal/poll.FD", "Sysfd", field(pollFD, "Sysfd")},
		{"net.netFD", "laddr", field(netFD, "laddr")},
		{"net.netFD", "raddr", field(netFD, "raddr")},
		{"net.TCPAddr", "IP", field(tcpAddr, "IP")},
		{"net.TCPAddr", "Port", field(tcpAddr, "Port")},
	}
	for _, o := range out {
		fmt.Printf("%s %s %d\n", o.typ, o.member, o.f.Offset)
	}
}
