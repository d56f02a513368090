//go:build !amd64 && !arm64

package main

// sysSetns is unknown here: -net netem falls back to the delay knobs.
const sysSetns = -1
