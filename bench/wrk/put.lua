-- wrk script: durable POST /v1/put with 64-byte values and keys spread over
-- [0, KEYS) (env KYRO_WRK_KEYS, default 1000000). Each wrk thread seeds its own
-- RNG so threads do not write the same key sequence.
local keys = tonumber(os.getenv("KYRO_WRK_KEYS") or "1000000")
local value = string.rep("v", 64)
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed or 1)
end

function request()
  local key = math.random(0, keys - 1)
  local body = '{"key":' .. key .. ',"value":"' .. value .. '"}'
  return wrk.format("POST", "/v1/put", {["Content-Type"] = "application/json"}, body)
end
