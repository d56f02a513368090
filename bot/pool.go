package bot

import "sync"

// A pool runs tasks on at most workers goroutines, with at most backlog
// more waiting their turn. A worker starts when a task comes and no
// worker is free, and ends when no task is left, so an idle bot holds no
// goroutines, and a burst holds workers of them however long it is.
type pool struct {
	workers, backlog int

	// mu guards queue and running.
	mu      sync.Mutex
	queue   []func()
	running int
}

func newPool(workers, backlog int) *pool {
	return &pool{workers: workers, backlog: backlog}
}

// full reports whether a task submitted now would find no worker free
// and no room to wait.
func (p *pool) full() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running == p.workers && len(p.queue) >= p.backlog
}

// submit runs task on a free worker, or queues it. The caller checks full
// first; with one goroutine submitting, as the Socket Mode loop is, the
// room it found is still there.
func (p *pool) submit(task func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running < p.workers {
		p.running++
		go p.work(task)
		return
	}
	p.queue = append(p.queue, task)
}

// work runs task, then the queued tasks in turn, until none is left.
func (p *pool) work(task func()) {
	for task != nil {
		task()
		task = p.next()
	}
}

// next takes the next queued task, or gives the worker up if none is.
func (p *pool) next() func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		p.running--
		return nil
	}
	task := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	return task
}
