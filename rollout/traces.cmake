# Traces: sampling, the trace type and its HDF5 store.
fluxrl_part(traces
  SOURCES rollout/sample.c
  LINK m)
