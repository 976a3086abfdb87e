-- AssetMap's basemap profile for tilemaker: only what people give directions by.
-- Layers: water, waterway, green, roads, rail, buildings, transit (stations and stops as
-- points) and landmarks (libraries, GP surgeries, pharmacies, places of worship, community
-- centres, supermarkets, post offices). Names are kept so the browser can label them.

node_keys = { "amenity", "shop", "railway", "public_transport", "highway", "healthcare" }

function init_function() end
function exit_function() end

local MAJOR = { motorway=true, motorway_link=true, trunk=true, trunk_link=true,
  primary=true, primary_link=true, secondary=true, secondary_link=true }
local MINOR = { tertiary=true, tertiary_link=true, unclassified=true, residential=true,
  living_street=true, road=true, busway=true }
local SERVICE = { service=true }
local PATH = { footway=true, path=true, pedestrian=true, steps=true, cycleway=true,
  bridleway=true, track=true }
local RAIL = { rail=true, subway=true, light_rail=true, tram=true, narrow_gauge=true,
  monorail=true }
local GREEN_LEISURE = { park=true, garden=true, playground=true, nature_reserve=true,
  recreation_ground=true, common=true, pitch=true }
local GREEN_LANDUSE = { grass=true, recreation_ground=true, cemetery=true, allotments=true,
  forest=true, meadow=true, village_green=true }
local GREEN_NATURAL = { wood=true, scrub=true, heath=true, grassland=true }
local WATERWAY_LINE = { river=true, canal=true, stream=true }

-- amenity/shop/healthcare values -> the landmark kind the map labels
local LANDMARK = { library="library", doctors="gp", clinic="gp", pharmacy="pharmacy",
  place_of_worship="worship", community_centre="community", post_office="post",
  supermarket="supermarket", chemist="pharmacy" }

local function landmark_kind(obj)
  local amenity = obj:Find("amenity")
  if LANDMARK[amenity] then return LANDMARK[amenity] end
  local shop = obj:Find("shop")
  if shop == "supermarket" or shop == "chemist" then return LANDMARK[shop] end
  local healthcare = obj:Find("healthcare")
  if healthcare == "doctor" then return "gp" end
  if healthcare == "pharmacy" then return "pharmacy" end
  return nil
end

-- rail, tube, tram or bus; nil for anything else
local function transit_kind(obj)
  local railway = obj:Find("railway")
  local station = obj:Find("station")
  if railway == "station" or railway == "halt" then
    if station == "subway" or obj:Find("subway") == "yes" then return "tube" end
    if station == "light_rail" then return "rail" end
    return "rail"
  end
  if railway == "tram_stop" then return "tram" end
  if obj:Find("highway") == "bus_stop" then return "bus" end
  return nil
end

local function point(obj, layer, kind, minzoom)
  obj:Layer(layer, false)
  obj:Attribute("kind", kind)
  local name = obj:Find("name")
  if name ~= "" then obj:Attribute("name", name) end
  obj:MinZoom(minzoom)
end

function node_function(node)
  local t = transit_kind(node)
  if t then
    local ref = node:Find("ref")
    point(node, "transit", t, t == "bus" and 14 or 12)
    if t == "bus" and ref ~= "" then node:Attribute("ref", ref) end
    return
  end
  local k = landmark_kind(node)
  if k then point(node, "landmarks", k, 14) end
end

function way_function(way)
  local highway = way:Find("highway")
  local railway = way:Find("railway")
  local waterway = way:Find("waterway")
  local leisure = way:Find("leisure")
  local landuse = way:Find("landuse")
  local natural = way:Find("natural")
  local building = way:Find("building")
  local is_closed = way:IsClosed()

  if highway ~= "" and highway ~= "platform" and way:Find("area") ~= "yes" then
    local class = nil
    if MAJOR[highway] then class = "major"
    elseif MINOR[highway] then class = "minor"
    elseif SERVICE[highway] then class = "service"
    elseif PATH[highway] then class = "path" end
    if class then
      way:Layer("roads", false)
      way:Attribute("class", class)
      way:Attribute("highway", highway)
      local name = way:Find("name")
      if name ~= "" then way:Attribute("name", name) end
      if class == "major" then way:MinZoom(10)
      elseif class == "minor" then way:MinZoom(13)
      else way:MinZoom(14) end
    end
  end

  if RAIL[railway] and way:Find("service") == "" then
    way:Layer("rail", false)
    way:Attribute("class", railway)
    if way:Find("tunnel") == "yes" or way:Find("layer"):sub(1, 1) == "-" then
      way:Attribute("tunnel", "yes")
    end
    local name = way:Find("name")
    if name ~= "" then way:Attribute("name", name) end
    way:MinZoom(11)
  end

  if WATERWAY_LINE[waterway] then
    way:Layer("waterway", false)
    way:Attribute("class", waterway)
    local name = way:Find("name")
    if name ~= "" then way:Attribute("name", name) end
  end

  if is_closed then
    if natural == "water" or waterway == "riverbank" or landuse == "reservoir"
        or landuse == "basin" then
      way:Layer("water", true)
      local name = way:Find("name")
      if name ~= "" then way:Attribute("name", name) end
    elseif GREEN_LEISURE[leisure] or GREEN_LANDUSE[landuse] or GREEN_NATURAL[natural] then
      way:Layer("green", true)
      way:Attribute("class", leisure ~= "" and leisure or (landuse ~= "" and landuse or natural))
      local name = way:Find("name")
      if name ~= "" then way:Attribute("name", name) end
      way:MinZoom(11)
    end
    if building ~= "" and building ~= "no" then
      way:Layer("buildings", true)
      way:MinZoom(14)
    end
  end

  -- stations and landmarks drawn as buildings or sites: one labelled point at the centroid
  local t = transit_kind(way)
  if t and is_closed then
    way:LayerAsCentroid("transit")
    way:Attribute("kind", t)
    local name = way:Find("name")
    if name ~= "" then way:Attribute("name", name) end
    way:MinZoom(12)
  end
  local k = landmark_kind(way)
  if k and is_closed then
    way:LayerAsCentroid("landmarks")
    way:Attribute("kind", k)
    local name = way:Find("name")
    if name ~= "" then way:Attribute("name", name) end
    way:MinZoom(14)
  end
end

-- Multipolygon parks and lakes arrive as relations: tilemaker passes them to way_function
-- when the relation type is multipolygon, so nothing more is needed here.
