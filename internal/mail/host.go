package mail

import (
	"net/netip"
	"strings"
)

// IsLoopbackHost reports whether host (without a port) is "localhost" or
// an IP address in 127.0.0.0/8 or ::1. Brackets around an IPv6 address, an
// IPv6 zone and the IPv4-mapped form are accepted. Other names are not
// resolved, so "127.0.0.1.example.com" is not loopback.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return addr.Unmap().IsLoopback()
}

// isLoopbackAddr reports whether the remote address of a dialled
// connection is loopback, which checks what "localhost" resolved to.
func isLoopbackAddr(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	return ap.Addr().Unmap().IsLoopback()
}
