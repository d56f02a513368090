package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// A netLab puts the room simulator behind a slow link: a network
// namespace of the tool's own, joined to this one by a veth pair, with
// netem delaying each direction by half the round trip. Only the room
// is behind it; Slack stays on loopback.
type netLab struct {
	ns             string
	hostIf, nsIf   string
	hostIP, roomIP string
	nsFD           *os.File
}

// The lab's addresses live only on the veth pair the tool makes, inside
// its own sandbox, and go when it is torn down.
const (
	labHostIP = "10.231.7.1"
	labRoomIP = "10.231.7.2"
)

// labCommands are the commands that build a lab with round trip rtt.
// netem's queue limit is raised from 1,000 packets so that a
// 10,000-service answer in flight is delayed, not dropped.
func labCommands(l *netLab, rtt time.Duration) [][]string {
	half := fmt.Sprintf("%dus", rtt.Microseconds()/2)
	in := func(args ...string) []string {
		return append([]string{"ip", "netns", "exec", l.ns}, args...)
	}
	return [][]string{
		{"ip", "netns", "add", l.ns},
		{"ip", "link", "add", l.hostIf, "type", "veth", "peer", "name", l.nsIf},
		{"ip", "link", "set", l.nsIf, "netns", l.ns},
		{"ip", "addr", "add", l.hostIP + "/30", "dev", l.hostIf},
		{"ip", "link", "set", l.hostIf, "up"},
		in("ip", "addr", "add", l.roomIP+"/30", "dev", l.nsIf),
		in("ip", "link", "set", l.nsIf, "up"),
		in("ip", "link", "set", "lo", "up"),
		{"tc", "qdisc", "add", "dev", l.hostIf, "root", "netem", "delay", half, "limit", "100000"},
		in("tc", "qdisc", "add", "dev", l.nsIf, "root", "netem", "delay", half, "limit", "100000"),
	}
}

// newNetLab builds the lab. It needs root and the netem qdisc; on any
// failure it undoes what it did and returns the error, and the caller
// falls back to the delaying proxy.
func newNetLab(rtt time.Duration) (*netLab, error) {
	id := os.Getpid() % 100000
	l := &netLab{
		ns:     fmt.Sprintf("rbload%d", id),
		hostIf: fmt.Sprintf("rbh%d", id),
		nsIf:   fmt.Sprintf("rbn%d", id),
		hostIP: labHostIP,
		roomIP: labRoomIP,
	}
	for _, args := range labCommands(l, rtt) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			l.close()
			return nil, fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err,
				strings.TrimSpace(string(out)))
		}
	}
	fd, err := os.Open("/run/netns/" + l.ns)
	if err != nil {
		l.close()
		return nil, err
	}
	l.nsFD = fd
	return l, nil
}

// close removes the veth pair (both ends go together) and the namespace.
func (l *netLab) close() {
	if l.nsFD != nil {
		l.nsFD.Close()
	}
	exec.Command("ip", "link", "del", l.hostIf).Run()
	exec.Command("ip", "netns", "del", l.ns).Run()
}

// inside runs fn on a thread moved into the lab's namespace, so that the
// sockets fn opens belong to it. A socket stays in the namespace it was
// made in, whichever thread later serves it.
func (l *netLab) inside(fn func() error) error {
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	if err := setns(l.nsFD); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering namespace %s: %w", l.ns, err)
	}
	fnErr := fn()
	if err := setns(self); err != nil {
		// The thread stays locked, so it dies with this goroutine
		// rather than serve others from the wrong namespace.
		return errors.Join(fnErr, fmt.Errorf("leaving namespace %s: %w", l.ns, err))
	}
	runtime.UnlockOSThread()
	return fnErr
}

func setns(f *os.File) error {
	if sysSetns < 0 {
		return errors.New("setns is not known on this architecture")
	}
	_, _, errno := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
