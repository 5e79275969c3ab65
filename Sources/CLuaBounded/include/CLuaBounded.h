#ifndef RUNNER_CLUA_BOUNDED_H
#define RUNNER_CLUA_BOUNDED_H

/*
 * Library functions that obey the limits of a call (see Sources/CLua/shim.h).
 *
 * Lua's count hook runs between VM instructions, so a C library function that works long without
 * running one escapes the instruction limit, the deadline and cancellation. Pattern matching
 * backtracks exponentially ("a*a*a*...b"), table.move/insert/remove loop over ranges that no
 * memory bounds, string.rep("", 2^60) loops without writing a byte. These replacements do the
 * same work and charge every step to the call (runner_lua_charge), which raises from C when the
 * call must stop.
 */

struct lua_State;

/**
 * Protected. Replaces string.find, match, gmatch, gsub and rep and table.insert, remove, move
 * and sort (which are also the string methods: the string metatable indexes the same table)
 * with bounded versions. Returns a Lua status; on error the message is on top of the stack.
 */
int runner_lua_open_bounded(struct lua_State *L);

/**
 * Protected. Seals a state used for expressions: the library tables (string, table, math, utf8,
 * os) and the globals become read-only proxies (the registry's globals is the proxy, so every
 * chunk compiled afterwards, and every `load`, sees it as _ENV), and the string metatable is
 * hidden from getmetatable. Swift still writes the globals (RUNNER_LUA_OP_GLOBALS unwraps).
 * Returns a Lua status; on error the message is on top of the stack.
 */
int runner_lua_seal(struct lua_State *L);

#endif
