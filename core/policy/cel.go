package policy

import (
	"errors"
	"fmt"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/gatehouse/gatehouse/core/device"
)

// The rule's variables:
//
//	user     {sub, upn, email, name, groups, amr, claims}
//	request  {method, host, path}
//	client   {ip}
//	device   {present, subject, common_name, serial, issuer, sans, not_after}
//
// device is the verified device certificate (access.require_device):
// present is false, the strings empty and sans empty without one; serial
// is lower-case hex; not_after is a timestamp.
// e.g. `request.path.startsWith("/admin") ? "admins" in user.groups : true`.
func compileRule(rule string) (cel.Program, error) {
	env, err := cel.NewEnv(
		cel.Variable("user", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("request", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("client", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("device", cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(rule)
	if iss.Err() != nil {
		return nil, fmt.Errorf("access.rule: %w", iss.Err())
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("access.rule: the expression is a %s; it must be true or false", ast.OutputType())
	}
	return env.Program(ast, cel.CostLimit(100000))
}

func evalRule(prog cel.Program, in Input) (bool, error) {
	id := in.Identity
	claims := id.Claims
	if claims == nil {
		claims = map[string]any{}
	}
	out, _, err := prog.Eval(map[string]any{
		"user": map[string]any{
			"sub": id.Subject, "upn": id.UPN, "email": id.Email, "name": id.Name,
			"groups": nonNil(id.Groups), "amr": nonNil(id.AMR), "claims": claims,
		},
		"request": map[string]string{"method": in.Method, "host": in.Host, "path": in.Path},
		"client":  map[string]string{"ip": in.ClientIP.String()},
		"device":  deviceVars(in.Device),
	})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, errors.New("the rule did not give true or false")
	}
	return b, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// deviceVars is the rule's device variable.
func deviceVars(d *device.Device) map[string]any {
	if d == nil {
		return map[string]any{"present": false, "subject": "", "common_name": "", "serial": "", "issuer": "",
			"sans": []string{}, "not_after": time.Unix(0, 0).UTC()}
	}
	return map[string]any{"present": true, "subject": d.Subject, "common_name": d.CommonName, "serial": d.Serial,
		"issuer": d.Issuer, "sans": nonNil(d.SANs), "not_after": d.NotAfter}
}
