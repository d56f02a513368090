package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomops/roombot/commands"
)

// Metrics are the bot's Prometheus collectors. A nil *Metrics records
// nothing, so tests and tools need not set one up.
type Metrics struct {
	commands    *prometheus.CounterVec
	ack         prometheus.Histogram
	roomCalls   *prometheus.HistogramVec
	restarts    *prometheus.CounterVec
	reconnects  prometheus.Counter
	denials     *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
}

// NewMetrics makes the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombot_commands_total",
			Help: "Commands and clicks handled, by verb and outcome.",
		}, []string{"verb", "outcome"}),
		// slack-go writes acks on a goroutine of its own and says nothing
		// of when: the time to the write, and the time an envelope waits
		// in slack-go's event queue before the loop takes it, are out of
		// sight. What the loop does between the two is measured.
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "roombot_ack_seconds",
			Help: "Time from the Socket Mode loop taking an envelope off slack-go's event " +
				"queue to its ack being handed to slack-go's writer queue; the wait in " +
				"the event queue and the write to the socket are not included.",
			// Slack allows 3 s; anything past a few ms is the bot's fault.
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 3},
		}),
		roomCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roombot_room_call_seconds",
			Help:    "Room calls by operation and result.",
			Buckets: prometheus.ExponentialBuckets(.001, 4, 9),
		}, []string{"op", "result"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombot_restarts_total",
			Help: "Restarts asked of rooms, by outcome.",
		}, []string{"outcome"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roombot_socket_reconnects_total",
			Help: "Socket Mode connections opened after the first.",
		}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombot_denials_total",
			Help: "Commands and clicks refused by the allow-list, by verb.",
		}, []string{"verb"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombot_slack_rate_limited_total",
			Help: "HTTP 429 answers from Slack, by method.",
		}, []string{"method"}),
	}
	reg.MustRegister(m.commands, m.ack, m.roomCalls, m.restarts,
		m.reconnects, m.denials, m.rateLimited)
	m.zero()
	return m
}

// zero makes the series an alert would watch exist from the start, at 0:
// a counter that first appears at 1 shows no increase to rate() or
// increase(), so the first restart to fail, the first denial or the
// first 429 would go unseen.
func (m *Metrics) zero() {
	for _, o := range []string{"requested", "failed", string(commands.PhaseBack),
		string(commands.PhaseNotBack), string(commands.PhaseUnknown)} {
		m.restarts.WithLabelValues(o)
	}
	for _, v := range commands.Verbs() {
		m.denials.WithLabelValues(string(v))
	}
	// Clicks on a card are counted under these two.
	m.denials.WithLabelValues("confirm")
	m.denials.WithLabelValues("cancel")
	for _, method := range []string{"chat.postMessage", "chat.update",
		"chat.postEphemeral", "response_url"} {
		m.rateLimited.WithLabelValues(method)
	}
}

func (m *Metrics) command(verb, outcome string) {
	if m != nil {
		m.commands.WithLabelValues(verb, outcome).Inc()
	}
}

func (m *Metrics) acked(d time.Duration) {
	if m != nil {
		m.ack.Observe(d.Seconds())
	}
}

func (m *Metrics) roomCall(op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.roomCalls.WithLabelValues(op, result).Observe(d.Seconds())
}

func (m *Metrics) restart(outcome string) {
	if m != nil {
		m.restarts.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) reconnected() {
	if m != nil {
		m.reconnects.Inc()
	}
}

func (m *Metrics) denied(verb string) {
	if m != nil {
		m.denials.WithLabelValues(verb).Inc()
	}
}

func (m *Metrics) limited(method string) {
	if m != nil {
		m.rateLimited.WithLabelValues(method).Inc()
	}
}
