package engine

import (
	"context"
	"errors"
)

// stopCause is why a run's caller stopped it early on purpose.
type stopCause struct{ reason string }

func (s *stopCause) Error() string { return s.reason }

// StopCause is the cause to cancel a run's context with (context.
// WithCancelCause) to stop it early for reason — a shaper with on_error =
// "fail" failed — rather than as interrupted by the user: the summary's
// outcome is then aborted, with that reason.
func StopCause(reason string) error { return &stopCause{reason} }

// stopReason is the reason of a StopCause that ended ctx, "" for any other end.
func stopReason(ctx context.Context) string {
	var s *stopCause
	if errors.As(context.Cause(ctx), &s) {
		return s.reason
	}
	return ""
}
