#ifndef RUNNER_CLUA_SHIM_H
#define RUNNER_CLUA_SHIM_H

/*
 * Lua 5.4 for Swift: the C API plus the few pieces that must be written in C.
 *
 * THE RULE: no longjmp may ever cross a Swift frame.
 *
 * Lua reports errors with longjmp. A jump through a Swift frame skips its cleanup (releases,
 * deferred code, exclusivity bookkeeping) and corrupts the process. Therefore:
 *
 *  - Swift never calls lua_error or luaL_error. Every error is raised from C: by the count hook
 *    (limits, cancellation), by the read-only proxy metamethods, and by runner_lua_trampoline
 *    when the Swift dispatcher returns -1.
 *  - Swift calls only functions that cannot raise:
 *      lua_gettop, lua_settop (runner_lua_pop; we never create to-be-closed slots), lua_absindex,
 *      lua_checkstack (returns 0 instead of raising), lua_type, lua_typename, lua_toboolean,
 *      lua_tointegerx, lua_tonumberx, lua_isinteger, lua_tolstring ON VALUES OF TYPE
 *      LUA_TSTRING ONLY (on numbers it converts in place and may allocate), lua_topointer,
 *      lua_pushnil, lua_rawgeti (raw reads neither allocate nor call metamethods), lua_next
 *      (raises only for a key that is not in the table, which cannot happen when the key came
 *      from lua_next itself), lua_pcall (runner_lua_pcall: it IS the protection),
 *      and the runner_lua_* helpers below marked "non-raising" (lua_newstate returns NULL on
 *      failure, luaL_loadbufferx runs the parser protected, lua_close runs finalizers
 *      protected, lua_sethook and lua_getextraspace cannot fail).
 *    Pushes need stack space, which Swift reserves with lua_checkstack first.
 *  - Everything that can raise (allocating strings or tables, rawset, luaL_ref, opening
 *    libraries, ...) runs in a C function invoked through lua_pcall by a runner_lua_* helper
 *    marked "protected": the jump lands in lua_pcall, below any Swift frame.
 *  - Swift callbacks run inside runner_lua_trampoline (a C function called by Lua) and follow
 *    the same rules: they push their results with a protected helper, and report errors by
 *    returning -1 with the error value on top, which the trampoline raises from C.
 *  - The protected helpers call lua_checkstack themselves and return RUNNER_LUA_NO_STACK
 *    (nothing pushed) when the stack cannot grow.
 *
 * Everything here is `static inline` because a system library module cannot carry a C target.
 * Consequently there are NO mutable statics in this file: each Swift object file may get its own
 * copy of these functions, so all state lives in runner_lua_control, found from the lua_State
 * through lua_getextraspace. The C that needs a real translation unit (the bounded string and
 * table functions, the sealing of expression states) lives in the CLuaBounded target, which
 * includes this file.
 */

#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------------------------------
 * Macros Swift cannot call. Only non-raising ones are offered: Swift must not call lua_newtable,
 * lua_tostring and the like (they allocate), so there is deliberately no shim for them.
 * ------------------------------------------------------------------------------------------- */

static inline void runner_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline int runner_lua_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}
static inline int runner_lua_isnil(lua_State *L, int idx) { return lua_isnil(L, idx); }
static inline int runner_lua_istable(lua_State *L, int idx) { return lua_istable(L, idx); }
static inline int runner_lua_isfunction(lua_State *L, int idx) { return lua_isfunction(L, idx); }
/** Non-raising (needs 1 free slot). Compiles text only; the chunk or the message is pushed. */
static inline int runner_lua_loadbuffer(lua_State *L, const void *buf, size_t len, const char *name) {
    return luaL_loadbufferx(L, buf != NULL ? (const char *)buf : "", len, name, "t");
}
static inline int runner_lua_registry_index(void) { return LUA_REGISTRYINDEX; }

/** Returned by helpers when the Lua stack cannot grow; nothing was pushed. */
#define RUNNER_LUA_NO_STACK (-1)

/* ---------------------------------------------------------------------------------------------
 * The control block: limits, cancellation and the way back to Swift. One per lua_State, owned
 * by Swift (LuaControl), outliving the lua_State.
 * ------------------------------------------------------------------------------------------- */

/** Why the current call is being stopped. Sticky until the next call is armed. */
enum runner_lua_abort {
    RUNNER_LUA_ABORT_NONE = 0,
    RUNNER_LUA_ABORT_INSTRUCTIONS = 1,
    RUNNER_LUA_ABORT_MEMORY = 2,
    RUNNER_LUA_ABORT_TIMEOUT = 3,
    RUNNER_LUA_ABORT_CANCELLED = 4,
};

/**
 * Called by runner_lua_trampoline with the Swift owner and the function id. Returns the number of
 * results it pushed, -1 when it pushed an error value instead (the trampoline raises it), or any
 * other negative number when it could push nothing at all.
 */
typedef int (*runner_lua_dispatcher)(lua_State *L, void *owner, lua_Integer id);

/** Extra bytes granted once the memory limit was hit, so the error can still be reported. */
#define RUNNER_LUA_MEMORY_RESERVE ((size_t)1 << 20)
/** Instructions between two runs of the count hook while a call runs. */
#define RUNNER_LUA_HOOK_INTERVAL 1000

typedef struct runner_lua_control {
    /* Allocator (owning thread only). */
    size_t used;                 /* bytes currently allocated by the state */
    size_t limit;                /* growth past this is refused */
    void *refused_block;         /* last refused request, to detect the retry after an */
    size_t refused_size;         /* emergency collection (see runner_lua_alloc) */
    /* Limits of the current call (owning thread only). */
    long long budget;            /* instructions left */
    long long pending;           /* charged by C functions, not yet taken from the budget */
    int interval;                /* instructions between two hook runs */
    long long deadline_ns;       /* CLOCK_MONOTONIC deadline, 0 for none */
    int abort;                   /* enum runner_lua_abort */
    /* The only field touched by other threads. */
    atomic_int cancelled;
    /* The way back to Swift (owning thread only). */
    void *owner;                 /* Unmanaged<LuaState>, NULL once the state is closing */
    runner_lua_dispatcher dispatch;
} runner_lua_control;

/** Non-raising. Returns NULL when out of memory. */
static inline runner_lua_control *runner_lua_control_create(size_t limit) {
    runner_lua_control *c = (runner_lua_control *)calloc(1, sizeof(runner_lua_control));
    if (c == NULL) return NULL;
    c->limit = limit;
    c->interval = 1;
    atomic_init(&c->cancelled, 0);
    return c;
}

static inline void runner_lua_control_destroy(runner_lua_control *c) { free(c); }

/** Safe from any thread. */
static inline void runner_lua_control_cancel(runner_lua_control *c) {
    atomic_store_explicit(&c->cancelled, 1, memory_order_relaxed);
}

/** Safe from any thread. Returns whether a cancellation was pending, and clears it. */
static inline int runner_lua_control_take_cancel(runner_lua_control *c) {
    return atomic_exchange_explicit(&c->cancelled, 0, memory_order_relaxed);
}

static inline int runner_lua_control_abort(const runner_lua_control *c) { return c->abort; }
static inline size_t runner_lua_control_used(const runner_lua_control *c) { return c->used; }

static inline runner_lua_control *runner_lua_control_of(lua_State *L) {
    return *(runner_lua_control **)lua_getextraspace(L);
}

/**
 * The allocator. Growth past the limit is refused. Lua answers a refusal with an emergency
 * collection and one retry of the same request; when that retry is refused too the memory
 * limit is really exceeded and the call is aborted (a pcall in the script cannot swallow it).
 */
static inline void *runner_lua_alloc(void *ud, void *block, size_t osize, size_t nsize) {
    runner_lua_control *c = (runner_lua_control *)ud;
    if (block == NULL) osize = 0; /* osize then encodes the object type */
    if (nsize == 0) {
        free(block);
        c->used -= osize;
        return NULL;
    }
    if (nsize > osize) {
        size_t limit = c->limit;
        if (c->abort == RUNNER_LUA_ABORT_MEMORY) limit += RUNNER_LUA_MEMORY_RESERVE;
        if (c->used > limit || nsize - osize > limit - c->used) {
            if (c->refused_block == block && c->refused_size == nsize) {
                if (c->abort == RUNNER_LUA_ABORT_NONE) c->abort = RUNNER_LUA_ABORT_MEMORY;
            } else {
                c->refused_block = block;
                c->refused_size = nsize;
            }
            return NULL;
        }
    }
    void *result = realloc(block, nsize);
    if (result == NULL) return NULL;
    c->used = c->used - osize + nsize;
    if (nsize > osize) {
        c->refused_block = NULL;
        c->refused_size = 0;
    }
    return result;
}

static inline long long runner_lua_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline const char *runner_lua_abort_message(int abort) {
    switch (abort) {
    case RUNNER_LUA_ABORT_INSTRUCTIONS: return "instruction limit exceeded";
    case RUNNER_LUA_ABORT_MEMORY: return "memory limit exceeded";
    case RUNNER_LUA_ABORT_TIMEOUT: return "time limit exceeded";
    case RUNNER_LUA_ABORT_CANCELLED: return "cancelled";
    default: return "aborted";
    }
}

/**
 * Non-raising. Charges `cost` instructions to the running call, then checks cancellation, the
 * budget and the deadline. Returns the abort reason (sticky until the next call is armed).
 */
static inline int runner_lua_check(runner_lua_control *c, long long cost) {
    if (c->abort == RUNNER_LUA_ABORT_NONE) {
        c->budget -= cost;
        if (atomic_load_explicit(&c->cancelled, memory_order_relaxed)) {
            c->abort = RUNNER_LUA_ABORT_CANCELLED;
        } else if (c->budget <= 0) {
            c->abort = RUNNER_LUA_ABORT_INSTRUCTIONS;
        } else if (c->deadline_ns != 0 && runner_lua_now_ns() >= c->deadline_ns) {
            c->abort = RUNNER_LUA_ABORT_TIMEOUT;
        }
    }
    return c->abort;
}

/** Instructions charged by runner_lua_charge between two checks of the limits. */
#define RUNNER_LUA_CHARGE_BATCH 1024

/**
 * Raises from C when the running call must stop. Charges `cost` instructions and checks the
 * limits once RUNNER_LUA_CHARGE_BATCH have accumulated. For C functions that work long without
 * running a Lua instruction (the pattern matcher, table.move, ...; see Sources/CLuaBounded): they
 * call it for every step of their work, so the same limits and cancellation stop them. Only from
 * a C function called by Lua (the jump lands in its pcall).
 */
static inline void runner_lua_charge(lua_State *L, long long cost) {
    runner_lua_control *c = runner_lua_control_of(L);
    c->pending += cost;
    if (c->pending < RUNNER_LUA_CHARGE_BATCH && c->abort == RUNNER_LUA_ABORT_NONE) return;
    long long due = c->pending;
    c->pending = 0;
    if (runner_lua_check(c, due) != RUNNER_LUA_ABORT_NONE) luaL_error(L, "%s", runner_lua_abort_message(c->abort));
}

/**
 * The hook: every `interval` instructions (count events) and at every function call, Lua or C
 * (call events). Count events charge the budget; both check cancellation, the budget and the
 * deadline, and raise from C. Once a call is aborted every later count event raises again, so a
 * script that catches the error with pcall is stopped at its next instructions. Call events
 * raise only when they discover the abort: the message handler, called for the abort error
 * itself, must still run.
 *
 * The call events stop a run of expensive C calls (each linear in the memory limit, say
 * `s:upper()` on 32 MiB) at the next call instead of after `interval` of them.
 */
static inline void runner_lua_hook(lua_State *L, lua_Debug *ar) {
    runner_lua_control *c = runner_lua_control_of(L);
    if (ar->event == LUA_HOOKCOUNT) {
        if (runner_lua_check(c, c->interval) != RUNNER_LUA_ABORT_NONE)
            luaL_error(L, "%s", runner_lua_abort_message(c->abort));
    } else if (c->abort == RUNNER_LUA_ABORT_NONE && runner_lua_check(c, 0) != RUNNER_LUA_ABORT_NONE) {
        luaL_error(L, "%s", runner_lua_abort_message(c->abort));
    }
}

/**
 * Non-raising. Starts the limits of a call: a fresh budget, a deadline (0: none), no abort.
 */
static inline void runner_lua_arm(lua_State *L, long long instructions, long long timeout_ns) {
    runner_lua_control *c = runner_lua_control_of(L);
    c->budget = instructions;
    c->pending = 0;
    c->interval = instructions < RUNNER_LUA_HOOK_INTERVAL ? (int)(instructions > 0 ? instructions : 1)
                                                          : RUNNER_LUA_HOOK_INTERVAL;
    c->deadline_ns = timeout_ns > 0 ? runner_lua_now_ns() + timeout_ns : 0;
    c->abort = RUNNER_LUA_ABORT_NONE;
    c->refused_block = NULL;
    c->refused_size = 0;
    lua_sethook(L, runner_lua_hook, LUA_MASKCOUNT | LUA_MASKCALL, c->interval);
}

/**
 * Non-raising. Between calls no Lua code should run, and any that does is stopped at its first
 * instruction. (Lua finalizers, which run with hooks disabled, are refused by setmetatable.)
 * No call events: the protected helpers Swift runs between calls are C functions.
 */
static inline void runner_lua_disarm(lua_State *L) {
    runner_lua_control *c = runner_lua_control_of(L);
    c->budget = 0;
    c->interval = 1;
    c->deadline_ns = 0;
    lua_sethook(L, runner_lua_hook, LUA_MASKCOUNT, 1);
}

/**
 * Non-raising. Creates a state using the control block's allocator and hook. Returns NULL when
 * out of memory.
 */
static inline lua_State *runner_lua_open(runner_lua_control *c) {
    lua_State *L = lua_newstate(runner_lua_alloc, c);
    if (L == NULL) return NULL;
    *(runner_lua_control **)lua_getextraspace(L) = c;
    runner_lua_disarm(L);
    return L;
}

/** Non-raising. Connects the state to its Swift owner. */
static inline void runner_lua_attach(lua_State *L, void *owner, runner_lua_dispatcher dispatch) {
    runner_lua_control *c = runner_lua_control_of(L);
    c->owner = owner;
    c->dispatch = dispatch;
}

/**
 * Non-raising. Detaches Swift (a Swift function called from now on raises instead) and closes
 * the state. Only C finalizers (luaL_Buffer boxes) remain to run.
 */
static inline void runner_lua_close(lua_State *L) {
    runner_lua_control *c = runner_lua_control_of(L);
    c->owner = NULL;
    c->dispatch = NULL;
    runner_lua_disarm(L);
    c->abort = RUNNER_LUA_ABORT_CANCELLED;
    lua_close(L);
}

/* ---------------------------------------------------------------------------------------------
 * Swift functions.
 * ------------------------------------------------------------------------------------------- */

/** The lua_CFunction behind every Swift function; upvalue 1 is the function id. */
static inline int runner_lua_trampoline(lua_State *L) {
    runner_lua_control *c = runner_lua_control_of(L);
    lua_Integer id = lua_tointeger(L, lua_upvalueindex(1));
    if (c->owner == NULL || c->dispatch == NULL) return luaL_error(L, "the Lua state is closing");
    luaL_checkstack(L, 8, "too many arguments");
    int results = c->dispatch(L, c->owner, id);
    if (results == -1) return lua_error(L);
    if (results < 0) return luaL_error(L, "out of stack space");
    return results;
}

/** `print` for a handler (upvalue 1): formats its arguments like Lua's print and passes one string. */
static inline int runner_lua_print(lua_State *L) {
    int n = lua_gettop(L);
    luaL_Buffer buffer;
    lua_pushvalue(L, lua_upvalueindex(1));
    luaL_buffinit(L, &buffer);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&buffer, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&buffer);
    }
    luaL_pushresult(&buffer);
    lua_call(L, 1, 0);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Read-only proxies: an empty table whose locked metatable forwards reads to the data table.
 * Metatable layout: [1] = data, [2] = true (marks a proxy), __index = data, __newindex, __len,
 * __pairs, __name = display name, __metatable = "read-only" (locks it).
 * ------------------------------------------------------------------------------------------- */

static inline int runner_lua_proxy_newindex(lua_State *L) {
    const char *name = "?";
    if (lua_getmetatable(L, 1)) {
        lua_getfield(L, -1, "__name");
        if (lua_type(L, -1) == LUA_TSTRING) name = lua_tostring(L, -1);
    }
    return luaL_error(L, "attempt to modify read-only table '%s'", name);
}

static inline int runner_lua_proxy_len(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_getmetatable(L, 1) || lua_rawgeti(L, -1, 1) != LUA_TTABLE) return luaL_error(L, "not a read-only table");
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

static inline int runner_lua_proxy_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

static inline int runner_lua_proxy_pairs(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_getmetatable(L, 1) || lua_rawgeti(L, -1, 1) != LUA_TTABLE) return luaL_error(L, "not a read-only table");
    lua_pushcfunction(L, runner_lua_proxy_next);
    lua_insert(L, -2);
    lua_pushnil(L);
    return 3;
}

/** Raises. Replaces the table on top of the stack with a read-only proxy for it. */
static inline void runner_lua_make_proxy(lua_State *L, const char *name, size_t name_length) {
    luaL_checkstack(L, 4, NULL);
    lua_createtable(L, 0, 0);             /* data proxy */
    lua_createtable(L, 2, 7);             /* data proxy mt */
    lua_pushvalue(L, -3);
    lua_rawseti(L, -2, 1);
    lua_pushboolean(L, 1);
    lua_rawseti(L, -2, 2);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, runner_lua_proxy_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, runner_lua_proxy_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, runner_lua_proxy_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushlstring(L, name, name_length);
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "read-only");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);              /* data proxy */
    lua_remove(L, -2);                    /* proxy */
}

/**
 * Non-raising (needs 2 free slots). When the value at idx is a read-only proxy, pushes the table
 * it wraps and returns 1; otherwise pushes nothing and returns 0.
 */
static inline int runner_lua_proxy_data(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
    int marked = lua_rawgeti(L, -1, 2) == LUA_TBOOLEAN && lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!marked || lua_rawgeti(L, -1, 1) != LUA_TTABLE) {
        lua_pop(L, marked ? 2 : 1);
        return 0;
    }
    lua_remove(L, -2);
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Programs: how Swift builds values in Lua. Swift encodes the work as a list of operations and a
 * pool of string bytes; runner_lua_run runs it in protected mode and leaves what it pushed.
 * ------------------------------------------------------------------------------------------- */

enum runner_lua_opcode {
    RUNNER_LUA_OP_NIL,       /* push nil */
    RUNNER_LUA_OP_BOOLEAN,   /* push a != 0 */
    RUNNER_LUA_OP_INTEGER,   /* push integer a */
    RUNNER_LUA_OP_NUMBER,    /* push float number */
    RUNNER_LUA_OP_STRING,    /* push the string operand */
    RUNNER_LUA_OP_TABLE,     /* push a new table sized for a array and b hash entries */
    RUNNER_LUA_OP_SETINDEX,  /* pop v; t[a] = v raw, t on top */
    RUNNER_LUA_OP_SETFIELD,  /* pop v, pop k; t[k] = v raw, t on top */
    RUNNER_LUA_OP_READONLY,  /* replace the table on top with a read-only proxy named by name */
    RUNNER_LUA_OP_FUNCTION,  /* push the Swift function with id a */
    RUNNER_LUA_OP_PRINT,     /* replace the function on top with a print that calls it */
    RUNNER_LUA_OP_GLOBALS,   /* push the globals table */
    RUNNER_LUA_OP_SUBTABLE,  /* replace table t on top with t[string] (through proxies), creating a
                                read-only table named by name when absent */
    RUNNER_LUA_OP_POP,       /* pop a values */
};

typedef struct runner_lua_op {
    enum runner_lua_opcode code;
    lua_Integer a;
    lua_Integer b;
    lua_Number number;
    size_t offset;           /* string operand, in the pool */
    size_t length;
    size_t name_offset;      /* display name, in the pool */
    size_t name_length;
} runner_lua_op;

typedef struct runner_lua_program {
    const runner_lua_op *ops;
    size_t count;
    const char *pool;
} runner_lua_program;

static inline int runner_lua_run_body(lua_State *L) {
    const runner_lua_program *p = (const runner_lua_program *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    for (size_t i = 0; i < p->count; i++) {
        const runner_lua_op *op = &p->ops[i];
        const char *string = p->pool + op->offset;
        const char *name = p->pool + op->name_offset;
        luaL_checkstack(L, 6, "value nested too deeply");
        switch (op->code) {
        case RUNNER_LUA_OP_NIL: lua_pushnil(L); break;
        case RUNNER_LUA_OP_BOOLEAN: lua_pushboolean(L, op->a != 0); break;
        case RUNNER_LUA_OP_INTEGER: lua_pushinteger(L, op->a); break;
        case RUNNER_LUA_OP_NUMBER: lua_pushnumber(L, op->number); break;
        case RUNNER_LUA_OP_STRING: lua_pushlstring(L, op->length ? string : "", op->length); break;
        case RUNNER_LUA_OP_TABLE: lua_createtable(L, (int)op->a, (int)op->b); break;
        case RUNNER_LUA_OP_SETINDEX: lua_rawseti(L, -2, op->a); break;
        case RUNNER_LUA_OP_SETFIELD: lua_rawset(L, -3); break;
        case RUNNER_LUA_OP_READONLY: runner_lua_make_proxy(L, name, op->name_length); break;
        case RUNNER_LUA_OP_FUNCTION:
            lua_pushinteger(L, op->a);
            lua_pushcclosure(L, runner_lua_trampoline, 1);
            break;
        case RUNNER_LUA_OP_PRINT: lua_pushcclosure(L, runner_lua_print, 1); break;
        case RUNNER_LUA_OP_GLOBALS:
            /* A sealed state's globals are a read-only proxy (see runner_lua_seal): Swift writes
               to the data behind it. */
            lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
            if (runner_lua_proxy_data(L, -1)) lua_remove(L, -2);
            break;
        case RUNNER_LUA_OP_SUBTABLE: {
            lua_pushlstring(L, op->length ? string : "", op->length); /* t k */
            lua_pushvalue(L, -1);
            int type = lua_rawget(L, -3);                              /* t k v */
            if (type == LUA_TNIL) {
                lua_pop(L, 1);
                lua_createtable(L, 0, 4);                              /* t k data */
                lua_pushvalue(L, -2);
                lua_pushvalue(L, -2);
                runner_lua_make_proxy(L, name, op->name_length);       /* t k data k proxy */
                lua_rawset(L, -5);                                     /* t k data */
            } else if (type == LUA_TTABLE) {
                if (runner_lua_proxy_data(L, -1)) lua_remove(L, -2);   /* t k data */
            } else {
                return luaL_error(L, "cannot add to '%s': it is a %s, not a table", lua_tostring(L, -2),
                                  luaL_typename(L, -1));
            }
            lua_replace(L, -3);                                        /* data k */
            lua_pop(L, 1);
            break;
        }
        case RUNNER_LUA_OP_POP: lua_pop(L, (int)op->a); break;
        }
    }
    return lua_gettop(L);
}

/**
 * Protected. Runs a program; returns LUA_OK with everything it pushed left on the stack, an
 * error status with the error value on top, or RUNNER_LUA_NO_STACK with nothing pushed.
 */
static inline int runner_lua_run(lua_State *L, const runner_lua_op *ops, size_t count, const void *pool) {
    runner_lua_program program = {ops, count, (const char *)pool};
    if (!lua_checkstack(L, 2)) return RUNNER_LUA_NO_STACK;
    lua_pushcfunction(L, runner_lua_run_body);
    lua_pushlightuserdata(L, &program);
    return lua_pcall(L, 1, LUA_MULTRET, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Registry references to compiled chunks.
 * ------------------------------------------------------------------------------------------- */

static inline int runner_lua_ref_body(lua_State *L) {
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 1;
}

/**
 * Protected. Pops the value on top and returns a registry reference to it, or LUA_NOREF when
 * out of memory (the stack is then left as it was without the value).
 */
static inline int runner_lua_ref(lua_State *L) {
    if (!lua_checkstack(L, 2)) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    lua_pushcfunction(L, runner_lua_ref_body);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    int ref = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return ref;
}

static inline int runner_lua_unref_body(lua_State *L) {
    luaL_unref(L, LUA_REGISTRYINDEX, (int)lua_tointeger(L, 1));
    return 0;
}

/** Protected. Releases a reference made by runner_lua_ref. */
static inline void runner_lua_unref(lua_State *L, int ref) {
    if (!lua_checkstack(L, 2)) return; /* leaks one registry slot; harmless */
    lua_pushcfunction(L, runner_lua_unref_body);
    lua_pushinteger(L, ref);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
}

/** Non-raising (needs 1 free slot). Pushes the referenced value. */
static inline int runner_lua_push_ref(lua_State *L, int ref) {
    return lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
}

/* ---------------------------------------------------------------------------------------------
 * Errors.
 * ------------------------------------------------------------------------------------------- */

/**
 * The message handler of every call. Returns a table describing the error:
 * [1] = the error value, [2] = its text when it is neither a string nor a plain table
 * (numbers, booleans, nil, values with __tostring), [3] = luaL_traceback, [4] and [5] = source
 * and line of the innermost Lua function.
 */
static inline int runner_lua_message_handler(lua_State *L) {
    lua_settop(L, 1);
    lua_createtable(L, 5, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, 2, 1);
    int type = lua_type(L, 1);
    if (type != LUA_TSTRING && (type != LUA_TTABLE || luaL_getmetafield(L, 1, "__tostring") != LUA_TNIL)) {
        if (type == LUA_TTABLE) lua_pop(L, 1); /* the metafield */
        luaL_tolstring(L, 1, NULL);
        lua_rawseti(L, 2, 2);
    }
    luaL_traceback(L, L, NULL, 1);
    lua_rawseti(L, 2, 3);
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            lua_pushstring(L, ar.short_src);
            lua_rawseti(L, 2, 4);
            lua_pushinteger(L, ar.currentline);
            lua_rawseti(L, 2, 5);
            break;
        }
    }
    return 1;
}

/** Non-raising (needs 1 free slot). */
static inline void runner_lua_push_message_handler(lua_State *L) {
    lua_pushcfunction(L, runner_lua_message_handler);
}

/**
 * Non-raising. Formats a float like Lua's tostring ("%.14g", and "1.0" rather than "1").
 * Returns the length written to buffer (at least 64 bytes).
 */
static inline size_t runner_lua_format_number(lua_Number n, char *buffer, size_t size) {
    int length = lua_number2str(buffer, size, n);
    if (length < 0) return 0;
    if ((size_t)length >= size) length = (int)size - 1;
    if (buffer[strspn(buffer, "-0123456789")] == '\0' && (size_t)length + 2 < size) {
        buffer[length++] = '.';
        buffer[length++] = '0';
        buffer[length] = '\0';
    }
    return (size_t)length;
}

/* ---------------------------------------------------------------------------------------------
 * The sandbox.
 * ------------------------------------------------------------------------------------------- */

/** `load` that only accepts text chunks: the mode argument is forced to "t". Upvalue 1: load. */
static inline int runner_lua_safe_load(lua_State *L) {
    int nargs = lua_gettop(L) >= 4 ? 4 : 3; /* load tells an absent env from a nil one */
    lua_settop(L, nargs);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}

/**
 * pcall and xpcall (upvalue 1) that cannot swallow an aborted call: when the call has been
 * stopped by a limit or cancellation, the error is raised again.
 */
static inline int runner_lua_guarded_pcall(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    runner_lua_control *c = runner_lua_control_of(L);
    if (c->abort != RUNNER_LUA_ABORT_NONE) {
        if (lua_gettop(L) >= 2 && !lua_toboolean(L, 1)) {
            lua_settop(L, 2);
            return lua_error(L);
        }
        return luaL_error(L, "%s", runner_lua_abort_message(c->abort));
    }
    return lua_gettop(L);
}

/**
 * setmetatable (upvalue 1) refusing metatables with a __gc field. Lua 5.4 runs finalizers with
 * debug hooks disabled, so a finalizer could never be stopped by a limit or cancellation. An
 * object is only marked for finalization when its metatable has __gc at setmetatable time, so
 * adding __gc afterwards has no effect.
 */
static inline int runner_lua_guarded_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) return luaL_error(L, "finalizers (__gc) are not allowed");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static inline void runner_lua_wrap_global(lua_State *L, const char *name, lua_CFunction wrapper) {
    lua_getglobal(L, name);
    lua_pushcclosure(L, wrapper, 1);
    lua_setglobal(L, name);
}

static inline int runner_lua_sandbox_body(lua_State *L) {
    static const luaL_Reg libraries[] = {
        {LUA_GNAME, luaopen_base},         {LUA_STRLIBNAME, luaopen_string}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math},   {LUA_UTF8LIBNAME, luaopen_utf8},  {NULL, NULL},
    };
    for (const luaL_Reg *library = libraries; library->func != NULL; library++) {
        luaL_requiref(L, library->name, library->func, 1);
        lua_pop(L, 1);
    }
    static const char *const removed[] = {
        "dofile", "loadfile", "collectgarbage", "rawset", "print", "warn", "require", NULL,
    };
    for (const char *const *name = removed; *name != NULL; name++) {
        lua_pushnil(L);
        lua_setglobal(L, *name);
    }
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    runner_lua_wrap_global(L, "load", runner_lua_safe_load);
    runner_lua_wrap_global(L, "pcall", runner_lua_guarded_pcall);
    runner_lua_wrap_global(L, "xpcall", runner_lua_guarded_pcall);
    runner_lua_wrap_global(L, "setmetatable", runner_lua_guarded_setmetatable);
    /* A safe os: only time, clock and date. The full library is never reachable from Lua. */
    lua_pushcfunction(L, luaopen_os);
    lua_call(L, 0, 1);
    lua_createtable(L, 0, 3);
    static const char *const os_kept[] = {"time", "clock", "date", NULL};
    for (const char *const *name = os_kept; *name != NULL; name++) {
        lua_getfield(L, -2, *name);
        lua_setfield(L, -2, *name);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);
    return 0;
}

/** Protected. Opens the sandboxed libraries. Returns a status; on error the message is on top. */
static inline int runner_lua_open_sandbox(lua_State *L) {
    if (!lua_checkstack(L, 2)) return RUNNER_LUA_NO_STACK;
    lua_pushcfunction(L, runner_lua_sandbox_body);
    return lua_pcall(L, 0, 0, 0);
}

#endif
