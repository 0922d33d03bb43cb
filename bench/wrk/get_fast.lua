-- wrk script: GET /v1/get_fast/{key}, keys uniform over [0, KEYS)
-- (env KYRO_WRK_KEYS, default 1000000).
local keys = tonumber(os.getenv("KYRO_WRK_KEYS") or "1000000")
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed or 1)
end

function request()
  return wrk.format("GET", "/v1/get_fast/" .. math.random(0, keys - 1))
end
