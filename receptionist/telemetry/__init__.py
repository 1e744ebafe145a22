"""What an operator watches: the receptionist's Prometheus metrics, with no patient data in them.

`metrics.py` defines the counters, histograms and gauges and the calls that move them (the call
package moves them during calls; `backlog.py` sets the queue gauges from the book in the worker's
main process). No LiveKit here: the worker's endpoint is LiveKit's own (`PROMETHEUS_PORT`), and the
traces are set up at the LiveKit edge (receptionist/call/traces.py). docs/deploy.md ("Metrics and
traces") lists every metric and what to alert on.
"""
