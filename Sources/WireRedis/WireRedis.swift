// Generated parsers: Grammars/WireRedis/resp.wire
