package commands

// Refused answers a user whom the allow-list does not let run v, and
// says what v would have done, since watch and unwatch need the right to
// restart without restarting anything.
func Refused(v Verb) Message {
	what := "You are not allowed to " + refusedWhat(v)
	return simple("rs-refused", ":lock: "+what+". Ask the people who "+
		"run roombot to add you.", what)
}

func refusedWhat(v Verb) string {
	switch v {
	case VerbList, VerbStatus:
		return "see room services"
	case VerbWatching:
		return "see which rooms are watched"
	case VerbRestart:
		return "restart services"
	case VerbWatch, VerbUnwatch:
		return "change what this channel watches"
	}
	return "do that"
}

// AllowListUnavailable answers a command that was refused because the
// allow-list could not be checked, such as when Slack would not resolve
// a user group: the user may well be allowed, and should try again. ref
// is the short id under which the bot logged the cause.
func AllowListUnavailable(ref string) Message {
	text := "roombot could not check its allow-list just now, so it " +
		"did nothing (ref " + code(ref, 64) + "). Try again in a " +
		"minute; if it keeps happening, tell the people who run roombot."
	return simple("rs-allowlist", ":warning: "+text,
		"roombot could not check its allow-list")
}
