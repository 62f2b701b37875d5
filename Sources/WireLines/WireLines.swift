// Generated parsers: Grammars/WireLines/*.wire
