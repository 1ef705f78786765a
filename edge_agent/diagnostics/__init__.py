"""The technician's diagnostics page: a small aiohttp.web app served by the agent at the cabinet.

Only `config` and `users` are imported without the page enabled; `server` pulls in aiohttp.web.
"""
