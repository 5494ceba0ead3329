-- Cooperative interruption: a SIGINT sets a flag instead of killing the process.
local sl = require "spinlock"
local ffi = require "ffi"
pcall(ffi.cdef, "int raise(int sig);")

describe("signals", function()
  it("turns SIGINT and SIGTERM into a polled flag", function()
    sl.signals_install()
    assert.is_false(sl.interrupted())
    ffi.C.raise(2)
    assert.are.equal("SIGINT", sl.interrupted())
    sl.clear_interrupt()
    ffi.C.raise(15)
    assert.are.equal("SIGTERM", sl.interrupted())
    sl.clear_interrupt()
    sl.signals_uninstall()
  end)
end)
