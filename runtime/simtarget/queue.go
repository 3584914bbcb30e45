package simtarget

// cohort is a fluid batch of requests that arrived together: how many,
// when they were meant to start (their intended time, seconds of run
// time) and, once sent, when they were sent to the target.
type cohort struct {
	n    float64
	t    float64 // intended start
	sent float64 // when sent (target queue only)
}

// fifo is a queue of cohorts, oldest first. sum is the requests it holds.
type fifo struct {
	c    []cohort
	head int
	sum  float64
}

func (q *fifo) push(c cohort) {
	if !(c.n > 1e-12) {
		return
	}
	q.c = append(q.c, c)
	q.sum += c.n
}

func (q *fifo) empty() bool { return q.head >= len(q.c) }

func (q *fifo) front() *cohort { return &q.c[q.head] }

// take removes up to n requests from the front, calling f with each part
// it removes; it returns how many it removed.
func (q *fifo) take(n float64, f func(part cohort)) float64 {
	got := 0.0
	for n-got > 1e-12 && !q.empty() {
		c := q.front()
		part := *c
		if c.n > n-got {
			part.n = n - got
			c.n -= part.n
		} else {
			q.head++
		}
		got += part.n
		q.sum -= part.n
		f(part)
	}
	if q.empty() {
		q.c, q.head, q.sum = q.c[:0], 0, 0
	} else if q.head > 64 && q.head > len(q.c)/2 {
		q.c = append(q.c[:0], q.c[q.head:]...)
		q.head = 0
	}
	return got
}

// clear empties the queue and returns how many requests it held.
func (q *fifo) clear() float64 {
	n := q.sum
	q.c, q.head, q.sum = q.c[:0], 0, 0
	return n
}
