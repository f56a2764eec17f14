"""The bamboohr service's sink: the other side's list changes into BambooHR's option lists."""
