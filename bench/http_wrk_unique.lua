-- wrk script: every request asks for the per-host script of a different MAC,
-- so no rendered script can come from a cache (bench/http_bench.py, "uncached").
counter = 0

request = function()
  counter = counter + 1
  local n = counter
  local mac = string.format("02-00-%02x-%02x-%02x-%02x",
    math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("GET", "/boot/" .. mac .. ".ipxe?platform=efi&buildarch=x86_64")
end
