package backend

// HoldForward holds a follower's batched forwarding (forward.go) until
// release; ForwardQueued counts the writes waiting to be forwarded.
func HoldForward(b *Backend) (release func()) { return b.batch.Hold() }

// ForwardQueued: see HoldForward.
func ForwardQueued(b *Backend) int { return b.batch.Queued() }
