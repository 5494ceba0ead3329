-- ci_output.lua — busted output handler: the usual terminal output, then one closing line
-- "N passed, N failed[, N skipped]" (failed = failures + errors) that CI recognises.
return function(options)
  local busted = require "busted"
  local base = require("busted.outputHandlers.utfTerminal")(options)
  local passed, failed, skipped = 0, 0, 0
  busted.subscribe({ "test", "end" }, function(_, _, status)
    if status == "success" then passed = passed + 1
    elseif status == "pending" then skipped = skipped + 1
    else failed = failed + 1 end
    return nil, true
  end)
  busted.subscribe({ "error" }, function(element)
    -- errors outside a test (in describe / file load) are not counted by "test end"
    if element and element.descriptor ~= "it" then failed = failed + 1 end
    return nil, true
  end)
  busted.subscribe({ "suite", "end" }, function()
    io.write(string.format("\n%d passed, %d failed, %d skipped\n", passed, failed, skipped))
    io.flush()
    return nil, true
  end)
  return base
end
