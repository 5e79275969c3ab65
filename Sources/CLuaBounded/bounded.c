/*
 * The bounded string.rep and table functions, and the sealing of expression states.
 * See include/CLuaBounded.h.
 */
#include "../CLua/shim.h"
#include "include/CLuaBounded.h"
#include "bounded.h"

#include <limits.h>

/*
 * string.rep (upvalue 1: Lua's). Lua's loops n times even when nothing is written
 * (string.rep("", 2^60)); otherwise the result, allocated first, is at least n bytes, so the
 * memory limit bounds the loop.
 */
static int bounded_rep(lua_State *L) {
    size_t length, separator;
    luaL_checklstring(L, 1, &length);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &separator);
    if (n <= 0 || (length == 0 && separator == 0)) {
        lua_pushliteral(L, "");
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* What a table argument must allow; a non-table needs the matching metamethods. */
enum { NEEDS_READ = 1, NEEDS_WRITE = 2, NEEDS_LENGTH = 4 };

static int has_metafield(lua_State *L, int metatable, const char *name) {
    lua_pushstring(L, name);
    int found = lua_rawget(L, metatable) != LUA_TNIL;
    lua_pop(L, 1);
    return found;
}

static void check_table(lua_State *L, int arg, int needs) {
    if (lua_type(L, arg) == LUA_TTABLE) return;
    if (lua_getmetatable(L, arg)) {
        int mt = lua_gettop(L);
        int ok = (!(needs & NEEDS_READ) || has_metafield(L, mt, "__index")) &&
                 (!(needs & NEEDS_WRITE) || has_metafield(L, mt, "__newindex")) &&
                 (!(needs & NEEDS_LENGTH) || has_metafield(L, mt, "__len"));
        lua_pop(L, 1);
        if (ok) return;
    }
    luaL_checktype(L, arg, LUA_TTABLE); /* raises the usual message */
}

/* t[to] = t[from], charged: with __len or explicit ranges the count has no bound in memory. */
static void shift(lua_State *L, int source, lua_Integer from, int destination, lua_Integer to) {
    runner_lua_charge(L, 1);
    lua_geti(L, source, from);
    lua_seti(L, destination, to);
}

/* table.insert(t, [pos,] v) */
static int bounded_insert(lua_State *L) {
    check_table(L, 1, NEEDS_READ | NEEDS_WRITE | NEEDS_LENGTH);
    lua_Integer after = (lua_Integer)((lua_Unsigned)luaL_len(L, 1) + 1u); /* first free slot */
    lua_Integer position;
    switch (lua_gettop(L)) {
    case 2:
        position = after;
        break;
    case 3:
        position = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)position - 1u < (lua_Unsigned)after, 2, "position out of bounds");
        for (lua_Integer i = after; i > position; i--) shift(L, 1, i - 1, 1, i);
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, position);
    return 0;
}

/* table.remove(t [, pos]) */
static int bounded_remove(lua_State *L) {
    check_table(L, 1, NEEDS_READ | NEEDS_WRITE | NEEDS_LENGTH);
    lua_Integer size = luaL_len(L, 1);
    lua_Integer position = luaL_optinteger(L, 2, size);
    if (position != size) /* Lua 5.4.4 names argument 1 here */
        luaL_argcheck(L, (lua_Unsigned)position - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
    lua_geti(L, 1, position);
    for (; position < size; position++) shift(L, 1, position + 1, 1, position);
    lua_pushnil(L);
    lua_seti(L, 1, position);
    return 1;
}

/* table.move(a1, f, e, t [, a2]) */
static int bounded_move(lua_State *L) {
    lua_Integer first = luaL_checkinteger(L, 2);
    lua_Integer last = luaL_checkinteger(L, 3);
    lua_Integer to = luaL_checkinteger(L, 4);
    int destination = lua_isnoneornil(L, 5) ? 1 : 5;
    check_table(L, 1, NEEDS_READ);
    check_table(L, destination, NEEDS_WRITE);
    if (last >= first) {
        luaL_argcheck(L, first > 0 || last < LUA_MAXINTEGER + first, 3, "too many elements to move");
        lua_Integer n = last - first + 1;
        luaL_argcheck(L, to <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        int overlapping = to <= last && to > first && (destination == 1 || lua_compare(L, 1, destination, LUA_OPEQ));
        if (overlapping) {
            for (lua_Integer i = n - 1; i >= 0; i--) shift(L, 1, first + i, destination, to + i);
        } else {
            for (lua_Integer i = 0; i < n; i++) shift(L, 1, first + i, destination, to + i);
        }
    }
    lua_pushvalue(L, destination);
    return 1;
}

/*
 * The comparison table.sort calls (upvalue 1: the script's, or nil for '<'). Being a C function
 * call, each comparison runs the call hook; it is charged by the length of the strings compared,
 * since comparing two long strings is long work (the same 32 MiB string a million times in a
 * table costs no memory).
 */
static int bounded_less(lua_State *L) {
    long long cost = 1;
    if (lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TSTRING) {
        size_t a = lua_rawlen(L, 1), b = lua_rawlen(L, 2);
        cost += (long long)((a < b ? a : b) >> 8);
    }
    runner_lua_charge(L, cost);
    if (lua_isnil(L, lua_upvalueindex(1))) {
        lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
    } else {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_insert(L, 1);
        lua_call(L, 2, 1);
        lua_pushboolean(L, lua_toboolean(L, -1));
    }
    return 1;
}

/*
 * table.sort(t [, comp]) (upvalue 1: Lua's), comparing through bounded_less. The arguments are
 * checked here and Lua's own error re-raised from here, so messages name 'sort' and the caller's
 * line as Lua's do.
 */
static int bounded_sort(lua_State *L) {
    check_table(L, 1, NEEDS_READ | NEEDS_WRITE | NEEDS_LENGTH);
    lua_Integer n = luaL_len(L, 1);
    luaL_argcheck(L, n < INT_MAX, 1, "array too big");
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushcclosure(L, bounded_less, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "invalid order function for sorting") == 0)
            return luaL_error(L, "invalid order function for sorting");
        return lua_error(L);
    }
    return 0;
}

/* Sets t[name] (t at index table) to function f wrapping the current t[name]. */
static void wrap_field(lua_State *L, int table, const char *name, lua_CFunction f) {
    lua_getfield(L, table, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, table, name);
}

static int open_bounded_body(lua_State *L) {
    lua_getglobal(L, LUA_STRLIBNAME);
    int strings = lua_gettop(L);
    runner_lua_bounded_patterns(L, strings);
    wrap_field(L, strings, "rep", bounded_rep);
    lua_getglobal(L, LUA_TABLIBNAME);
    int tables = lua_gettop(L);
    lua_pushcfunction(L, bounded_insert);
    lua_setfield(L, tables, "insert");
    lua_pushcfunction(L, bounded_remove);
    lua_setfield(L, tables, "remove");
    lua_pushcfunction(L, bounded_move);
    lua_setfield(L, tables, "move");
    wrap_field(L, tables, "sort", bounded_sort);
    return 0;
}

int runner_lua_open_bounded(lua_State *L) {
    if (!lua_checkstack(L, 2)) return RUNNER_LUA_NO_STACK;
    lua_pushcfunction(L, open_bounded_body);
    return lua_pcall(L, 0, 0, 0);
}

static int seal_body(lua_State *L) {
    static const char *const libraries[] = {
        LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_MATHLIBNAME, LUA_UTF8LIBNAME, "os", NULL,
    };
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    int globals = lua_gettop(L);
    if (runner_lua_proxy_data(L, globals)) return 0; /* sealed already */
    for (const char *const *name = libraries; *name != NULL; name++) {
        lua_pushstring(L, *name);
        if (lua_rawget(L, globals) == LUA_TTABLE && !runner_lua_proxy_data(L, -1)) {
            runner_lua_make_proxy(L, *name, strlen(*name));
            lua_setfield(L, globals, *name);
        } else {
            lua_settop(L, globals);
        }
        lua_settop(L, globals);
    }
    /* getmetatable("") would hand out the string table itself. */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushliteral(L, "read-only");
        lua_setfield(L, -2, "__metatable");
    }
    lua_settop(L, globals);
    lua_pushvalue(L, globals);
    runner_lua_make_proxy(L, "_G", 2);
    lua_pushvalue(L, -1);
    lua_setfield(L, globals, "_G");
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    return 0;
}

int runner_lua_seal(lua_State *L) {
    if (!lua_checkstack(L, 2)) return RUNNER_LUA_NO_STACK;
    lua_pushcfunction(L, seal_body);
    return lua_pcall(L, 0, 0, 0);
}
