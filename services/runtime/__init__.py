"""services/runtime"""
