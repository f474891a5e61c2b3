package config

import (
	"strings"

	"github.com/gatehouse/gatehouse/core/device"
)

// RequireDevice is access.require_device: the app admits only requests
// over a TLS connection whose client certificate a device CA issued
// (docs/DEVICES.md). The gateway asks for a certificate in the handshake
// only on hosts with such an app.
type RequireDevice struct {
	// CAFile is the device CA's certificate (PEM; several CAs may be
	// listed).
	CAFile string `yaml:"ca_file"`
	// CRLFile is the CAs' certificate revocation list (PEM or DER), read
	// again when the file changes; "" for none. While it cannot be read,
	// does not verify or is past its next update, no device is admitted.
	CRLFile string `yaml:"crl_file"`
}

// checkDevice validates access.require_device of app a at key (its CA
// file and CRL file are read and checked now; the gateway reads them
// again when it applies the config).
func (l *loader) checkDevice(key string, a *App) {
	rd := a.Access.RequireDevice
	k := key + ".access.require_device"
	if rd == nil || l.bad[k] {
		return
	}
	if !strings.HasPrefix(key, "apps[") {
		l.errorf(k, "device certificates are asked for on the public listener only; %s is served elsewhere, so remove require_device", key)
		return
	}
	rd.CAFile, rd.CRLFile = l.resolve(rd.CAFile), l.resolve(rd.CRLFile)
	data := l.readFile(k+".ca_file", rd.CAFile, "the device CA's certificate (PEM), e.g. ca_file: /etc/gatehouse/device-ca.pem")
	if data == nil {
		return
	}
	if _, err := device.ParseCAs(data); err != nil {
		l.errorf(k+".ca_file", "%q %v", l.written(k+".ca_file"), err)
		return
	}
	if rd.CRLFile == "" {
		return
	}
	crl := l.readFile(k+".crl_file", rd.CRLFile, "")
	if crl == nil {
		return
	}
	v, err := device.New(device.Options{CAFile: rd.CAFile})
	if err == nil {
		_, err = v.ParseCRLs(crl)
	}
	if err != nil {
		l.errorf(k+".crl_file", "%q %v", l.written(k+".crl_file"), err)
	}
}
