"""The freshbooks service's sinks: people (flow 1) and the department carrier on expenses."""
