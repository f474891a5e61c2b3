package pki

import (
	"crypto/x509"
	"net"
)

// addNames puts each name into the certificate as an IP or DNS SAN.
func addNames(c *x509.Certificate, names []string) {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			c.IPAddresses = append(c.IPAddresses, ip)
		} else {
			c.DNSNames = append(c.DNSNames, n)
		}
	}
}
