package agent

// HoldForward holds a follower's forward group (see forward.go) until
// release; ForwardQueued counts the writes waiting to be forwarded.
func HoldForward(a *Agent) (release func()) { return a.forward.Hold() }

// ForwardQueued: see HoldForward.
func ForwardQueued(a *Agent) int { return a.forward.Queued() }
