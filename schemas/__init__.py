"""The language of the bus: canonical events, the envelope and the topic catalog.

Imports pydantic only and names no vendor beyond topic suffixes.
"""
