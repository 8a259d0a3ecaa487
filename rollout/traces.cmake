# Traces: sampling, the trace type and its HDF5 store.
fluxrl_part(traces
  SOURCES rollout/sample.c rollout/trace.c rollout/trace_store.c rollout/steps.c
  LINK hdf5::hdf5 m)
target_sources(fluxrl PRIVATE cli/cmd_traces.c)
