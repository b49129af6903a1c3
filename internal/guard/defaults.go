package guard

// Kinds lists the guards in the order docs/api.md lists them. Refresh and
// logout routes are not among them: they have no default path.
var Kinds = []Kind{ResetSend, ResetValidate, ResetPassword, OldPassword, EmailInitiate, EmailChange}

// Default returns a route of kind with its documented defaults: its paths (none
// for refresh and logout routes), body field names and response rules. The
// default success is a 2xx response and the default failure a 401. A logout
// succeeds on any status below 400, because ending the verification early
// costs the user at most one more challenge.
func Default(kind Kind) Route {
	rt := Route{
		Kind:    kind,
		Success: Rule{Status: []int{2}},
		Failure: Rule{Status: []int{401}},
	}
	switch kind {
	case ResetSend:
		rt.Paths = []string{"/user/password/reset/send", "/v1/auth/forgot-password"}
		rt.EmailField = "email"
	case ResetValidate:
		rt.Paths = []string{"/user/password/reset/validate"}
		rt.EmailField, rt.CodeField = "email", "code"
	case ResetPassword:
		rt.Paths = []string{"/user/password/otp"}
		rt.EmailField, rt.CodeField = "email", "code"
		rt.TOTPField, rt.RecoveryCodeField = "totp", "recoveryCode"
	case OldPassword:
		rt.Paths = []string{"/user/password/old-password"}
	case EmailInitiate:
		rt.Paths = []string{"/user/email/initiate"}
		rt.EmailField = "email"
	case EmailChange:
		rt.Paths = []string{"/user/email"}
	case Logout:
		rt.Success = Rule{Status: []int{2, 3}}
		rt.Failure = Rule{}
	}
	return rt
}
