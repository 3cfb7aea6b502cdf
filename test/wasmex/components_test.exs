defmodule Wasmex.ComponentsTest do
  use ExUnit.Case, async: true

  import Wasmex.TestHelpers
  import Wasmex.ComponentTestHelpers

  alias Wasmex.Components
  alias Wasmex.Components.{Instance, Store}

  @moduletag timeout: 60_000
  @moduletag :capture_log

  defmodule PointStruct do
    @moduledoc false
    defstruct [:x, :y]
  end

  defp types_server(_context), do: %{pid: start_component!("component_types")}

  defp call(pid, name, args), do: Components.call_function(pid, name, args)

  defp kebab_record(overrides \\ %{}) do
    Map.merge(
      %{
        "first-name": "Ada",
        "age-years": 36,
        tags: ["math", "engines"],
        "maybe-points": {:some, [%{x: 1, y: 2}, %{x: -3, y: 4}]}
      },
      overrides
    )
  end

  describe "start_link/1" do
    test "starts from :bytes (a keyword list)" do
      assert {:ok, pid} = Components.start_link(bytes: component_bytes("component_types"))
      assert is_pid(pid)
      assert {:ok, 3} = call(pid, "add", [1, 2])
    end

    test "starts from :path" do
      assert {:ok, pid} = Components.start_link(path: component_path("component_types"))
      assert {:ok, 7} = call(pid, "add", [3, 4])
    end

    test "accepts a map of options" do
      assert {:ok, pid} = Components.start_link(%{bytes: component_bytes("component_types")})
      assert {:ok, 10} = call(pid, "add", [4, 6])
    end

    test ":bytes wins over :path" do
      assert {:ok, pid} =
               Components.start_link(
                 bytes: component_bytes("component_types"),
                 path: component_path("component_wasi")
               )

      assert {:ok, 5} = call(pid, "add", [2, 3])
      assert {:error, "exported function `run` not found."} = call(pid, "run", [])
    end

    test "accepts component WAT text as :bytes" do
      assert {:ok, pid} = Components.start_link(bytes: "(component)")
      assert {:error, "exported function `x` not found."} = call(pid, "x", [])
    end

    test "raises ArgumentError without :bytes or :path" do
      assert_raise ArgumentError, "Either :bytes or :path must be provided", fn ->
        Components.start_link(name: unique_name())
      end
    end

    test "a :path that does not exist raises File.Error" do
      assert_raise File.Error, fn ->
        Components.start_link(path: Path.join(tmp_dir!(), "missing.wasm"))
      end
    end

    test "an invalid :wasi value raises ArgumentError" do
      assert_raise ArgumentError, ~r/option :wasi must be a %Wasmex.Wasi.WasiP2Options\{\}/, fn ->
        Components.start_link(bytes: "(component)", wasi: true)
      end
    end

    test "bytes that are not a component give {:error, _} and the caller survives" do
      {result, alive?} = in_bystander(fn -> Components.start_link(bytes: "junk") end)
      assert {:error, "Unable to decode WASM: " <> _} = result
      assert alive?
    end

    test "a core module is rejected with {:error, _}" do
      assert {:ok, core} = Wasmex.Wat.to_wasm("(module)")

      assert {:error, "Unable to decode WASM: " <> message} = Components.start_link(bytes: core)
      assert message =~ "component parser"
    end

    test "missing imports fail instantiation with {:error, _}, not an exit" do
      {result, alive?} =
        in_bystander(fn ->
          Components.start_link(bytes: component_bytes("component_imports"), imports: %{})
        end)

      assert {:error, message} = result
      assert message =~ "component imports"
      assert message =~ "matching implementation was not found in the linker"
      assert alive?
    end

    test "import keys must be strings" do
      imports = %{:"host-add" => {:fn, fn a, b -> a + b end}}

      assert {:error, "the keys of imports must be strings"} =
               Components.start_link(
                 bytes: component_bytes("component_imports"),
                 imports: importer_imports() |> Map.delete("host-add") |> Map.merge(imports)
               )
    end

    test "import entries with another tag are ignored (so the import is missing)" do
      assert {:error, message} =
               Components.start_link(
                 bytes: component_bytes("component_imports"),
                 imports: importer_imports(%{"host-add" => {:not_fn, fn a, b -> a + b end}})
               )

      assert message =~ "component imports function `host-add`"
    end

    test "registers the :name" do
      name = unique_name()
      assert {:ok, pid} = Components.start_link(bytes: "(component)", name: name)
      assert Process.whereis(name) == pid

      assert {:error, "exported function `f` not found."} =
               Components.call_function(name, "f", [])
    end

    test "links the server to the caller" do
      pid = start_component!("component_types")
      assert {:links, links} = Process.info(self(), :links)
      assert pid in links
    end

    test "uses a given :store and ignores :wasi and :store_limits then" do
      assert {:ok, store} = Store.new()

      assert {:ok, pid} =
               Components.start_link(
                 bytes: component_bytes("component_wasi"),
                 store: store,
                 wasi: %Wasmex.Wasi.WasiP2Options{args: ["ignored"]},
                 store_limits: %Wasmex.StoreLimits{memory_size: 1}
               )

      assert {:ok, "args=;env=;stdin=;file=none"} = call(pid, "run", [])
      assert %Instance{store_resource: resource} = Components.instance(pid)
      assert resource == store.resource
    end

    test ":store_limits too small for the component's memory fail instantiation" do
      assert {:error, message} =
               Components.start_link(
                 bytes: component_bytes("component_types"),
                 store_limits: %Wasmex.StoreLimits{memory_size: 1_000}
               )

      assert message =~ "exceeds memory limits"
    end

    test "ignores unknown options such as :engine_config" do
      assert {:ok, pid} =
               Components.start_link(
                 bytes: component_bytes("component_types"),
                 engine_config: %Wasmex.EngineConfig{}
               )

      assert {:ok, 2} = call(pid, "add", [1, 1])
    end
  end

  describe "call_function/4" do
    setup :types_server

    test "calls a root export by string and by atom", %{pid: pid} do
      assert {:ok, 3} = call(pid, "add", [1, 2])
      assert {:ok, 9} = call(pid, :"echo-u8", [9])
    end

    test "a function without results gives {:ok, []}", %{pid: pid} do
      assert {:ok, []} = call(pid, "no-result", [])
    end

    test "u32 addition wraps in the guest", %{pid: pid} do
      assert {:ok, 0} = call(pid, "add", [4_294_967_295, 1])
    end

    test "calls an interface export by tuple path", %{pid: pid} do
      assert {:ok, 42} = call(pid, {"wasmex:test/math@0.1.0", "add"}, [40, 2])
    end

    test "calls an interface export by list path (strings and atoms)", %{pid: pid} do
      assert {:ok, 5} = call(pid, ["wasmex:test/math@0.1.0", "add"], [2, 3])
      assert {:ok, 5} = call(pid, ["wasmex:test/math@0.1.0", :add], [2, 3])
      assert {:ok, 5} = call(pid, {:"wasmex:test/math@0.1.0", :add}, [2, 3])
    end

    test "a missing root export", %{pid: pid} do
      assert {:error, "exported function `f` not found."} = call(pid, "f", [])
      assert {:error, "exported function `f` not found."} = call(pid, :f, [])
    end

    test "a missing segment in a path names the segment and its position", %{pid: pid} do
      assert {:error,
              "exported function `[wasmex:test/math@0.1.0, b]` not found. Could not find `b` at position 1"} =
               call(pid, ["wasmex:test/math@0.1.0", "b"], [])

      assert {:error, "exported function `[a, b]` not found. Could not find `a` at position 0"} =
               call(pid, ["a", "b"], [])

      assert {:error, "exported function `[add, x]` not found. Could not find `x` at position 1"} =
               call(pid, {"add", "x"}, [])
    end

    test "an interface (not a function) is not callable", %{pid: pid} do
      assert {:error, "exported function `wasmex:test/math@0.1.0` not found."} =
               call(pid, "wasmex:test/math@0.1.0", [])

      assert {:error, "exported function `wasmex:test/math@0.1.0` not found."} =
               call(pid, {"wasmex:test/math@0.1.0"}, [])
    end

    test "an empty path gives the 0.15.1 error text", %{pid: pid} do
      assert {:error, "exported function `` not found."} = call(pid, [], [])
    end

    test "too few arguments", %{pid: pid} do
      assert {:error, "number of params does not match. expected 2, got 1"} =
               call(pid, "add", [1])

      assert {:error, "number of params does not match. expected 2, got 1"} =
               call(pid, {"wasmex:test/math@0.1.0", "add"}, [1])
    end

    test "too many arguments", %{pid: pid} do
      assert {:error, "number of params does not match. expected 2, got 3"} =
               call(pid, "add", [1, 2, 3])

      assert {:error, "number of params does not match. expected 0, got 1"} =
               call(pid, "no-result", [7])
    end

    test "errors name the argument position", %{pid: pid} do
      assert {:error, "Could not convert Binary to U32 (argument 2)"} = call(pid, "add", [1, "2"])
    end

    test "argument errors leave the instance and its state intact", %{pid: pid} do
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:error, _} = call(pid, "add", [1, :two])
      assert {:error, _} = call(pid, "missing", [])
      assert {:ok, 2} = call(pid, "counter-inc", [])
    end

    test "params must be a list", %{pid: pid} do
      assert_raise FunctionClauseError, fn -> Components.call_function(pid, "add", {1, 2}) end
    end

    test "an invalid timeout raises ArgumentError", %{pid: pid} do
      assert_raise ArgumentError, ~r/timeout must be a non-negative integer or :infinity/, fn ->
        Components.call_function(pid, "add", [1, 2], :soon)
      end
    end

    test ":infinity as timeout", %{pid: pid} do
      assert {:ok, 3} = Components.call_function(pid, "add", [1, 2], :infinity)
    end

    test "the 100 KB string round trip", %{pid: pid} do
      big = String.duplicate("abcdefghij", 10_000)
      assert {:ok, 100_000} = call(pid, "string-length", [big])
      assert {:ok, ^big} = call(pid, "echo-string", [big])
    end

    test "string-length counts UTF-8 bytes", %{pid: pid} do
      assert {:ok, 6} = call(pid, "string-length", ["añΩ!"])
    end

    test "concurrent callers are served one at a time and all get answers", %{pid: pid} do
      results =
        1..20
        |> Enum.map(fn i -> Task.async(fn -> call(pid, "add", [i, i]) end) end)
        |> Task.await_many(10_000)

      assert results == Enum.map(1..20, &{:ok, 2 * &1})
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end
  end

  describe "WIT types: bool and integers" do
    setup :types_server

    test "bool takes only true and false", %{pid: pid} do
      assert {:ok, true} = call(pid, "echo-bool", [true])
      assert {:ok, false} = call(pid, "echo-bool", [false])

      assert {:error, "Could not convert Atom to Bool (argument 1)"} =
               call(pid, "echo-bool", [nil])

      assert {:error, "Could not convert Integer to Bool (argument 1)"} =
               call(pid, "echo-bool", [1])

      assert {:error, "Could not convert Atom to Bool (argument 1)"} =
               call(pid, "echo-bool", [:yes])

      assert {:error, "Could not convert Binary to Bool (argument 1)"} =
               call(pid, "echo-bool", ["true"])
    end

    test "u8 round-trips 0..255", %{pid: pid} do
      for v <- [0, 1, 127, 255], do: assert({:ok, ^v} = call(pid, "echo-u8", [v]))
    end

    test "u8 rejects 256 and 300 as out of range", %{pid: pid} do
      assert {:error, "256 is out of range for U8 (argument 1)"} = call(pid, "echo-u8", [256])
      assert {:error, "300 is out of range for U8 (argument 1)"} = call(pid, "echo-u8", [300])
    end

    test "unsigned types reject negative numbers", %{pid: pid} do
      for {f, t} <- [
            {"echo-u8", "U8"},
            {"echo-u16", "U16"},
            {"echo-u32", "U32"},
            {"echo-u64", "U64"}
          ] do
        message = "-1 is out of range for #{t} (argument 1)"
        assert {:error, ^message} = call(pid, f, [-1])
      end
    end

    test "s8 round-trips -128..127", %{pid: pid} do
      for v <- [-128, -1, 0, 127], do: assert({:ok, ^v} = call(pid, "echo-s8", [v]))
    end

    test "s8 rejects -129 and 128 as out of range", %{pid: pid} do
      assert {:error, "128 is out of range for S8 (argument 1)"} = call(pid, "echo-s8", [128])
      assert {:error, "-129 is out of range for S8 (argument 1)"} = call(pid, "echo-s8", [-129])
    end

    test "u16 round-trips 0..65535 and rejects 65536", %{pid: pid} do
      for v <- [0, 65_535], do: assert({:ok, ^v} = call(pid, "echo-u16", [v]))

      assert {:error, "65536 is out of range for U16 (argument 1)"} =
               call(pid, "echo-u16", [65_536])
    end

    test "s16 round-trips -32768..32767 and rejects the neighbours", %{pid: pid} do
      for v <- [-32_768, 32_767], do: assert({:ok, ^v} = call(pid, "echo-s16", [v]))

      assert {:error, "32768 is out of range for S16 (argument 1)"} =
               call(pid, "echo-s16", [32_768])

      assert {:error, "-32769 is out of range for S16 (argument 1)"} =
               call(pid, "echo-s16", [-32_769])
    end

    test "u32 and s32 bounds", %{pid: pid} do
      assert {:ok, 4_294_967_295} = call(pid, "echo-u32", [4_294_967_295])

      assert {:error, "4294967296 is out of range for U32 (argument 1)"} =
               call(pid, "echo-u32", [4_294_967_296])

      assert {:ok, -2_147_483_648} = call(pid, "echo-s32", [-2_147_483_648])
      assert {:ok, 2_147_483_647} = call(pid, "echo-s32", [2_147_483_647])

      assert {:error, "2147483648 is out of range for S32 (argument 1)"} =
               call(pid, "echo-s32", [2_147_483_648])

      assert {:error, "-2147483649 is out of range for S32 (argument 1)"} =
               call(pid, "echo-s32", [-2_147_483_649])
    end

    test "u64 and s64 bounds (bignums)", %{pid: pid} do
      max_u64 = 18_446_744_073_709_551_615
      assert {:ok, ^max_u64} = call(pid, "echo-u64", [max_u64])

      assert {:error, "18446744073709551616 is out of range for U64 (argument 1)"} =
               call(pid, "echo-u64", [max_u64 + 1])

      assert {:ok, -9_223_372_036_854_775_808} =
               call(pid, "echo-s64", [-9_223_372_036_854_775_808])

      assert {:ok, 9_223_372_036_854_775_807} = call(pid, "echo-s64", [9_223_372_036_854_775_807])

      assert {:error, "9223372036854775808 is out of range for S64 (argument 1)"} =
               call(pid, "echo-s64", [9_223_372_036_854_775_808])
    end

    test "integers reject non-integers", %{pid: pid} do
      assert {:error, "Could not convert Atom to U8 (argument 1)"} = call(pid, "echo-u8", [:a])

      assert {:error, "Could not convert Float to S32 (argument 1)"} =
               call(pid, "echo-s32", [1.0])

      assert {:error, "Could not convert Binary to U64 (argument 1)"} =
               call(pid, "echo-u64", ["1"])
    end
  end

  describe "WIT types: floats, char and string" do
    setup :types_server

    test "f32 and f64 take floats", %{pid: pid} do
      assert {:ok, 1.5} = call(pid, "echo-f32", [1.5])
      assert {:ok, -0.25} = call(pid, "echo-f32", [-0.25])
      assert {:ok, 3.14159} = call(pid, "echo-f64", [3.14159])
      assert {:ok, 1.0e300} = call(pid, "echo-f64", [1.0e300])
    end

    test "f32 results are narrowed to single precision", %{pid: pid} do
      assert {:ok, value} = call(pid, "echo-f32", [0.1])
      assert is_float(value)
      assert value != 0.1
      assert_in_delta value, 0.1, 1.0e-7
    end

    test "floats reject integers", %{pid: pid} do
      assert {:error, "Could not convert Integer to Float32 (argument 1)"} =
               call(pid, "echo-f32", [1])

      assert {:error, "Could not convert Integer to Float64 (argument 1)"} =
               call(pid, "echo-f64", [2])
    end

    test "f32 rejects a finite f64 beyond its range", %{pid: pid} do
      assert {:error, message} = call(pid, "echo-f32", [1.0e300])
      assert message =~ "is out of range for Float32 (argument 1)"
    end

    test "char takes a code point, a one-character string or a one-element charlist",
         %{pid: pid} do
      assert {:ok, "Ω"} = call(pid, "echo-char", [937])
      assert {:ok, "Ω"} = call(pid, "echo-char", ["Ω"])
      assert {:ok, "B"} = call(pid, "echo-char", [~c"B"])
      assert {:ok, "A"} = call(pid, "echo-char", [?A])
      assert {:ok, "😀"} = call(pid, "echo-char", ["😀"])
    end

    test "char errors", %{pid: pid} do
      assert {:error, "Expected a single character, got multiple characters (argument 1)"} =
               call(pid, "echo-char", ["ab"])

      assert {:error, "Expected a single character, got multiple characters (argument 1)"} =
               call(pid, "echo-char", [~c"ab"])

      assert {:error, "Invalid character code point: 55296 (argument 1)"} =
               call(pid, "echo-char", [0xD800])

      assert {:error, "Invalid character code point: -1 (argument 1)"} =
               call(pid, "echo-char", [-1])

      assert {:error, "Could not convert Atom to Char (argument 1)"} =
               call(pid, "echo-char", [:a])
    end

    test "string takes binaries and atoms", %{pid: pid} do
      assert {:ok, "héllo wörld"} = call(pid, "echo-string", ["héllo wörld"])
      assert {:ok, ""} = call(pid, "echo-string", [""])
      assert {:ok, "atom"} = call(pid, "echo-string", [:atom])
    end

    test "string rejects other terms, and nil/true/false", %{pid: pid} do
      assert {:error, "Could not convert Integer to String (argument 1)"} =
               call(pid, "echo-string", [1])

      assert {:error, "Could not convert Atom to String (argument 1)"} =
               call(pid, "echo-string", [nil])

      assert {:error, "Could not convert Atom to String (argument 1)"} =
               call(pid, "echo-string", [true])

      assert {:error, "Could not convert List to String (argument 1)"} =
               call(pid, "echo-string", [~c"abc"])
    end
  end

  describe "WIT types: lists and tuples" do
    setup :types_server

    test "list<u8> takes a list or a binary and gives a list", %{pid: pid} do
      assert {:ok, [1, 2, 3]} = call(pid, "echo-list-u8", [[1, 2, 3]])
      assert {:ok, [1, 2, 255]} = call(pid, "echo-list-u8", [<<1, 2, 255>>])
      assert {:ok, [104, 105]} = call(pid, "echo-list-u8", ["hi"])
      assert {:ok, []} = call(pid, "echo-list-u8", [""])
      assert {:ok, []} = call(pid, "echo-list-u8", [[]])
    end

    test "list<u8> of 64 KB as a binary", %{pid: pid} do
      bytes = :binary.copy(<<0, 1, 2, 255>>, 16_384)
      assert {:ok, list} = call(pid, "echo-list-u8", [bytes])
      assert list == :binary.bin_to_list(bytes)
    end

    test "list<u8> rejects out-of-range elements, naming the element", %{pid: pid} do
      assert {:error, "256 is out of range for U8 at \"list[1]\" (argument 1)"} =
               call(pid, "echo-list-u8", [[1, 256]])

      assert {:error, "-1 is out of range for U8 at \"list[0]\" (argument 1)"} =
               call(pid, "echo-list-u8", [[-1]])
    end

    test "list<string>", %{pid: pid} do
      assert {:ok, ["a", "b", "ç"]} = call(pid, "echo-list-string", [["a", "b", "ç"]])
      assert {:ok, []} = call(pid, "echo-list-string", [[]])

      assert {:error, "Could not convert Integer to String at \"list[1]\" (argument 1)"} =
               call(pid, "echo-list-string", [["a", 1]])

      assert {:error, "Could not convert Map to List (argument 1)"} =
               call(pid, "echo-list-string", [%{}])
    end

    test "tuple<string, u32>", %{pid: pid} do
      assert {:ok, {"a", 1}} = call(pid, "echo-tuple", [{"a", 1}])

      assert {:error, "-1 is out of range for U32 at \"tuple[1]\" (argument 1)"} =
               call(pid, "echo-tuple", [{"a", -1}])

      assert {:error, "Expected a tuple of 2 elements, got 1 (argument 1)"} =
               call(pid, "echo-tuple", [{"a"}])

      assert {:error, "Expected a tuple of 2 elements, got 3 (argument 1)"} =
               call(pid, "echo-tuple", [{"a", 1, 2}])

      assert {:error, "Could not convert List to Tuple (argument 1)"} =
               call(pid, "echo-tuple", [["a", 1]])
    end
  end

  describe "WIT types: records" do
    setup :types_server

    test "point with atom keys and with string keys; output keys are atoms", %{pid: pid} do
      assert {:ok, %{x: 1, y: -2}} = call(pid, "echo-point", [%{x: 1, y: -2}])
      assert {:ok, %{x: 3, y: 4}} = call(pid, "echo-point", [%{"x" => 3, "y" => 4}])
      assert {:ok, %{x: 5, y: 6}} = call(pid, "echo-point", [%{"x" => 5, y: 6}])
    end

    test "extra keys are ignored and structs are accepted", %{pid: pid} do
      assert {:ok, result} = call(pid, "echo-point", [%{x: 1, y: 2, z: 3}])
      assert result == %{x: 1, y: 2}
      assert {:ok, %{x: 7, y: 8}} = call(pid, "echo-point", [%PointStruct{x: 7, y: 8}])
    end

    test "missing fields", %{pid: pid} do
      assert {:error, "Expected 2 fields, got 1 - missing fields: y (argument 1)"} =
               call(pid, "echo-point", [%{x: 1}])

      assert {:error, "Expected 2 fields, got 0 - missing fields: x, y (argument 1)"} =
               call(pid, "echo-point", [%{}])
    end

    test "a bad field value names the field", %{pid: pid} do
      assert {:error, "Could not convert Binary to S32 at \"record('y')\" (argument 1)"} =
               call(pid, "echo-point", [%{x: 1, y: "2"}])
    end

    test "a record must be a map", %{pid: pid} do
      assert {:error, "Could not convert Tuple to Record (argument 1)"} =
               call(pid, "echo-point", [{1, 2}])
    end

    test "kebab-record round trip with kebab-case atom keys", %{pid: pid} do
      record = kebab_record()
      assert {:ok, ^record} = call(pid, "echo-kebab-record", [record])
    end

    test "kebab-record with string keys comes back with atom keys", %{pid: pid} do
      record = %{
        "first-name" => "Grace",
        "age-years" => 85,
        "tags" => [],
        "maybe-points" => :none
      }

      assert {:ok, result} = call(pid, "echo-kebab-record", [record])

      assert result == %{
               "first-name": "Grace",
               "age-years": 85,
               tags: [],
               "maybe-points": :none
             }
    end

    test "kebab-record with an empty list of points", %{pid: pid} do
      record = kebab_record(%{"maybe-points": {:some, []}})
      assert {:ok, ^record} = call(pid, "echo-kebab-record", [record])
    end

    test "kebab-record missing fields", %{pid: pid} do
      assert {:error,
              "Expected 4 fields, got 1 - missing fields: age-years, tags, maybe-points (argument 1)"} =
               call(pid, "echo-kebab-record", [%{"first-name": "Ada"}])
    end

    test "snake_case keys do not match kebab-case fields", %{pid: pid} do
      assert {:error,
              "Expected 4 fields, got 1 - missing fields: first-name, age-years, maybe-points (argument 1)"} =
               call(pid, "echo-kebab-record", [
                 %{first_name: "Ada", age_years: 1, tags: [], maybe_points: :none}
               ])
    end

    test "kebab-record u8 field out of range", %{pid: pid} do
      assert {:error, "256 is out of range for U8 at \"record('age-years')\" (argument 1)"} =
               call(pid, "echo-kebab-record", [kebab_record(%{"age-years": 256})])
    end

    test "an incomplete point nested in option<list<point>> gives the full path", %{pid: pid} do
      record = kebab_record(%{"maybe-points": {:some, [%{x: 1, y: 2}, %{x: 1}]}})

      assert {:error,
              "Expected 2 fields, got 1 - missing fields: y at \"record('maybe-points').option(some).list[1]\" (argument 1)"} =
               call(pid, "echo-kebab-record", [record])
    end

    test "a bad value in a nested point gives the path down to the field", %{pid: pid} do
      record = kebab_record(%{"maybe-points": {:some, [%{x: 1, y: 2}, %{x: 1, y: "no"}]}})

      assert {:error,
              "Could not convert Binary to S32 at \"record('maybe-points').option(some).list[1].record('y')\" (argument 1)"} =
               call(pid, "echo-kebab-record", [record])
    end

    test "a bad option nested in the record", %{pid: pid} do
      record = kebab_record(%{"maybe-points": nil})

      assert {:error,
              "Invalid atom: nil, expected ':none' or '{:some, term}' tuple at \"record('maybe-points')\" (argument 1)"} =
               call(pid, "echo-kebab-record", [record])
    end

    test "make-points returns a list of records", %{pid: pid} do
      assert {:ok, [%{x: 0, y: 0}, %{x: 1, y: -1}, %{x: 2, y: -2}]} =
               call(pid, "make-points", [3])

      assert {:ok, []} = call(pid, "make-points", [0])
      assert {:ok, points} = call(pid, "make-points", [1000])
      assert length(points) == 1000
      assert List.last(points) == %{x: 999, y: -999}
    end
  end

  describe "WIT types: variants, enums and flags" do
    setup :types_server

    test "variant cases without and with payloads", %{pid: pid} do
      assert {:ok, :empty} = call(pid, "echo-shape", [:empty])
      assert {:ok, :empty} = call(pid, "echo-shape", ["empty"])
      assert {:ok, {:circle, 1.0}} = call(pid, "echo-shape", [{:circle, 1.0}])
      assert {:ok, {:rectangle, {1.0, 2.0}}} = call(pid, "echo-shape", [{:rectangle, {1.0, 2.0}}])
    end

    test "variant errors", %{pid: pid} do
      assert {:error, "Variant case not found: x (argument 1)"} = call(pid, "echo-shape", [:x])

      assert {:error, "Variant case not found: triangle (argument 1)"} =
               call(pid, "echo-shape", [{:triangle, 1.0}])

      assert {:error, "First element of variant tuple must be an atom (argument 1)"} =
               call(pid, "echo-shape", [{"circle", 1.0}])

      assert {:error, "Could not convert Integer to Float64 at \"variant(circle)\" (argument 1)"} =
               call(pid, "echo-shape", [{:circle, 1}])

      assert {:error, "Variant case circle needs a payload (argument 1)"} =
               call(pid, "echo-shape", [:circle])

      assert {:error, "Variant case empty takes no payload (argument 1)"} =
               call(pid, "echo-shape", [{:empty, 1}])

      assert {:error,
              "Could not convert Integer to Float64 at \"variant(rectangle).tuple[1]\" (argument 1)"} =
               call(pid, "echo-shape", [{:rectangle, {1.0, 2}}])
    end

    test "enum takes atoms and strings and gives atoms", %{pid: pid} do
      assert {:ok, :red} = call(pid, "echo-color", [:red])
      assert {:ok, :green} = call(pid, "echo-color", ["green"])
      assert {:ok, :"light-blue"} = call(pid, "echo-color", ["light-blue"])
      assert {:ok, :"light-blue"} = call(pid, "echo-color", [:"light-blue"])
    end

    test "enum errors", %{pid: pid} do
      assert {:error, "Enum value not found: purple (argument 1)"} =
               call(pid, "echo-color", [:purple])

      assert {:error, "Enum value not found: light_blue (argument 1)"} =
               call(pid, "echo-color", [:light_blue])

      assert {:error, "Could not convert Integer to Enum (argument 1)"} =
               call(pid, "echo-color", [1])
    end

    test "flags take a map and give a map of the set flags", %{pid: pid} do
      assert {:ok, %{read: true, exec: true} = set} =
               call(pid, "echo-perms", [%{read: true, exec: true}])

      assert map_size(set) == 2

      assert {:ok, %{write: true} = set} =
               call(pid, "echo-perms", [%{"write" => true, "read" => false}])

      assert map_size(set) == 1
      assert {:ok, empty} = call(pid, "echo-perms", [%{}])
      assert empty == %{}

      assert {:ok, %{read: true, write: true, exec: true}} =
               call(pid, "echo-perms", [%{read: true, write: true, exec: true}])
    end

    test "flags errors", %{pid: pid} do
      assert {:error, "Flag not found: delete (argument 1)"} =
               call(pid, "echo-perms", [%{delete: true}])

      assert {:error, "Could not convert Integer to Flags (argument 1)"} =
               call(pid, "echo-perms", [5])

      assert {:error, "Flag read must be true or false (argument 1)"} =
               call(pid, "echo-perms", [%{read: 1}])
    end
  end

  describe "WIT types: option and result" do
    setup :types_server

    test "option", %{pid: pid} do
      assert {:ok, :none} = call(pid, "echo-option", [:none])
      assert {:ok, {:some, 5}} = call(pid, "echo-option", [{:some, 5}])
      assert {:ok, {:some, 0}} = call(pid, "echo-option", [{:some, 0}])
    end

    test "option errors", %{pid: pid} do
      assert {:error, "Invalid atom: nil, expected ':none' or '{:some, term}' tuple (argument 1)"} =
               call(pid, "echo-option", [nil])

      assert {:error,
              "Invalid value Integer, expected ':none' or '{:some, term}' tuple (argument 1)"} =
               call(pid, "echo-option", [5])

      assert {:error, "-1 is out of range for U32 at \"option(some)\" (argument 1)"} =
               call(pid, "echo-option", [{:some, -1}])
    end

    test "result<string, string>", %{pid: pid} do
      assert {:ok, {:ok, "a"}} = call(pid, "echo-result", [{:ok, "a"}])
      assert {:ok, {:error, "b"}} = call(pid, "echo-result", [{:error, "b"}])

      assert {:error,
              "Result-type expected an {:ok, value} tuple, but got an :ok atom (argument 1)"} =
               call(pid, "echo-result", [:ok])

      assert {:error,
              "Invalid value Integer, expected ':ok' or ':error' as first element in result-tuple (argument 1)"} =
               call(pid, "echo-result", [5])

      assert {:error, "Could not convert Integer to String at \"result(error)\" (argument 1)"} =
               call(pid, "echo-result", [{:error, 1}])
    end

    test "result<_, string>", %{pid: pid} do
      assert {:ok, :ok} = call(pid, "echo-result-no-ok", [:ok])
      assert {:ok, {:error, "e"}} = call(pid, "echo-result-no-ok", [{:error, "e"}])

      assert {:error, "Result-type expected to have an :ok atom, but got 'ok' tuple (argument 1)"} =
               call(pid, "echo-result-no-ok", [{:ok, 1}])
    end

    test "result<u32>", %{pid: pid} do
      assert {:ok, {:ok, 3}} = call(pid, "echo-result-no-err", [{:ok, 3}])
      assert {:ok, :error} = call(pid, "echo-result-no-err", [:error])

      assert {:error,
              "Result-type expected to have an :error atom, but got 'error' tuple (argument 1)"} =
               call(pid, "echo-result-no-err", [{:error, "x"}])

      assert {:error, "-3 is out of range for U32 at \"result(ok)\" (argument 1)"} =
               call(pid, "echo-result-no-err", [{:ok, -3}])
    end

    test "result with no payloads", %{pid: pid} do
      assert {:ok, :ok} = call(pid, "echo-result-empty", [:ok])
      assert {:ok, :error} = call(pid, "echo-result-empty", [:error])

      assert {:error, "Invalid atom: maybe, expected ':ok' or ':error' as result (argument 1)"} =
               call(pid, "echo-result-empty", [:maybe])
    end
  end

  describe "imports" do
    test "a root import" do
      pid = start_component!("component_imports", imports: importer_imports())
      assert {:ok, 5} = call(pid, "call-host-add", [2, 3])
    end

    test "root import arguments arrive converted and the callback runs in the server" do
      test = self()

      imports =
        importer_imports(%{
          "host-add" =>
            {:fn,
             fn a, b ->
               send(test, {:host_add, self(), a, b})
               a * 100 + b
             end}
        })

      pid = start_component!("component_imports", imports: imports)
      assert {:ok, 4_000_002} = call(pid, "call-host-add", [40_000, 2])
      assert_received {:host_add, ^pid, 40_000, 2}
    end

    test "an interface import" do
      pid = start_component!("component_imports", imports: importer_imports())
      assert {:ok, "Hello, Ada!"} = call(pid, "call-greet", ["Ada"])
      assert {:ok, "Hello, Ωmega!"} = call(pid, "call-greet", ["Ωmega"])
    end

    test "an import returning result<u32, string>: error and ok" do
      pid = start_component!("component_imports", imports: importer_imports())
      assert {:ok, {:error, "host failure"}} = call(pid, "call-host-fail", [])

      pid =
        start_component!("component_imports",
          imports: importer_imports(%{"host-fail" => {:fn, fn -> {:ok, 7} end}})
        )

      assert {:ok, {:ok, 7}} = call(pid, "call-host-fail", [])
    end

    test "a raising import gives {:error, _}; the server stays alive and works" do
      imports =
        importer_imports(%{
          "host-add" =>
            {:fn,
             fn a, b ->
               if a == 0, do: raise("boom"), else: a + b
             end}
        })

      pid = start_component!("component_imports", imports: imports)
      assert {:error, message} = call(pid, "call-host-add", [0, 1])
      assert message =~ "the elixir callback threw an exception"
      assert Process.alive?(pid)
      assert {:ok, 3} = call(pid, "call-host-add", [1, 2])
      assert {:ok, "Hello, x!"} = call(pid, "call-greet", ["x"])
    end

    test "an import that exits or throws gives {:error, _} and the server survives" do
      for fun <- [fn -> exit(:bye) end, fn -> throw(:bye) end] do
        pid =
          start_component!("component_imports",
            imports: importer_imports(%{"host-fail" => {:fn, fun}})
          )

        assert {:error, message} = call(pid, "call-host-fail", [])
        assert message =~ "the elixir callback threw an exception"
        assert Process.alive?(pid)
        assert {:ok, 3} = call(pid, "call-host-add", [1, 2])
      end
    end

    test "an import with the wrong arity gives {:error, _}" do
      pid =
        start_component!("component_imports",
          imports: importer_imports(%{"host-add" => {:fn, fn a -> a end}})
        )

      assert {:error, message} = call(pid, "call-host-add", [1, 2])
      assert message =~ "the elixir callback threw an exception"
      assert Process.alive?(pid)
    end

    test "an import returning the wrong type gives {:error, _}" do
      imports =
        importer_imports(%{
          "host-add" => {:fn, fn _a, _b -> -1 end},
          "host-fail" => {:fn, fn -> :bad end},
          "wasmex:test/host@0.1.0" => %{"greet" => {:fn, fn _ -> 42 end}}
        })

      pid = start_component!("component_imports", imports: imports)

      assert {:error, message} = call(pid, "call-host-add", [1, 2])
      assert message =~ "invalid return value: -1 is out of range for U32"

      assert {:error, message} = call(pid, "call-greet", ["x"])
      assert message =~ "invalid return value: Could not convert Integer to String"

      assert {:error, message} = call(pid, "call-host-fail", [])

      assert message =~
               "invalid return value: Invalid atom: bad, expected ':ok' or ':error' as result"

      assert Process.alive?(pid)
    end

    test "a wrong nested return value names the path" do
      pid =
        start_component!("component_imports",
          imports: importer_imports(%{"host-fail" => {:fn, fn -> {:ok, -1} end}})
        )

      assert {:error, message} = call(pid, "call-host-fail", [])
      assert message =~ ~s{invalid return value: -1 is out of range for U32 at "result(ok)"}
    end

    test "wasi:random is WASI's by default" do
      pid = start_component!("component_imports", imports: importer_imports())
      assert {:ok, a} = call(pid, "random-u64", [])
      assert {:ok, b} = call(pid, "random-u64", [])
      assert is_integer(a) and a >= 0 and a < 18_446_744_073_709_551_616
      assert a != b
    end

    test "overriding a WASI interface at the version the component imports" do
      imports =
        importer_imports(%{
          "wasi:random/random@0.2.12" => %{"get-random-u64" => {:fn, fn -> 42 end}}
        })

      pid = start_component!("component_imports", imports: imports)
      assert {:ok, 42} = call(pid, "random-u64", [])
      assert {:ok, 42} = call(pid, "random-u64", [])
    end

    test "a slow import past the timeout gives {:error, :timeout}; the server answers later" do
      imports =
        importer_imports(%{
          "host-add" =>
            {:fn,
             fn a, b ->
               Process.sleep(300)
               a + b
             end}
        })

      pid = start_component!("component_imports", imports: imports)

      {ms, result} =
        timed_ms(fn -> Components.call_function(pid, "call-host-add", [1, 2], 100) end)

      assert result == {:error, :timeout}
      assert ms < 250
      assert {:ok, "Hello, y!"} = Components.call_function(pid, "call-greet", ["y"], 5_000)
      refute_received {_, {:ok, 3}}
    end
  end

  describe "timeouts and recovery" do
    setup :types_server

    test "spin with timeout 100 returns {:error, :timeout} within ~150 ms", %{pid: pid} do
      {ms, result} = timed_ms(fn -> Components.call_function(pid, "spin", [], 100) end)
      assert result == {:error, :timeout}
      assert ms < 150
      assert {:ok, 3} = call(pid, "add", [1, 2])
    end

    test "timeout 0 gives {:error, :timeout} at once", %{pid: pid} do
      {ms, result} = timed_ms(fn -> Components.call_function(pid, "spin", [], 0) end)
      assert result == {:error, :timeout}
      assert ms < 100
      assert {:ok, 3} = call(pid, "add", [1, 2])
    end

    test "a spinning call does not block other processes", %{pid: pid} do
      task = Task.async(fn -> Components.call_function(pid, "spin", [], 300) end)
      {ms, value} = timed_ms(fn -> Enum.sum(1..100_000) end)
      assert value == 5_000_050_000
      assert ms < 200
      assert {:error, :timeout} = Task.await(task, 2_000)
    end

    test "counter state lives in the instance and is reset after a trap", %{pid: pid} do
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:ok, 2} = call(pid, "counter-inc", [])
      assert {:error, message} = call(pid, "trap", [])
      assert message =~ "unreachable"
      assert Process.alive?(pid)
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:ok, 2} = call(pid, "counter-inc", [])
    end

    test "the instance is replaced after a timeout too", %{pid: pid} do
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:error, :timeout} = Components.call_function(pid, "spin", [], 50)
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end

    test "repeated traps and timeouts keep the server usable", %{pid: pid} do
      for _ <- 1..5 do
        assert {:error, _} = call(pid, "trap", [])
        assert {:error, :timeout} = Components.call_function(pid, "spin", [], 20)
        assert {:ok, 1} = call(pid, "counter-inc", [])
      end
    end

    test "an import failure replaces the instance (state resets)" do
      imports =
        importer_imports(%{
          "host-add" => {:fn, fn a, b -> if a == 0, do: raise("boom"), else: a + b end}
        })

      pid = start_component!("component_imports", imports: imports)
      assert {:error, _} = call(pid, "call-host-add", [0, 0])
      assert {:ok, 2} = call(pid, "call-host-add", [1, 1])
    end

    test "with a given :store the server recovers after a trap" do
      assert {:ok, store} = Store.new()

      assert {:ok, pid} =
               Components.start_link(bytes: component_bytes("component_types"), store: store)

      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:error, _} = call(pid, "trap", [])
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end

    test "with a given :store (limits and WASI) the replacement lives in a new store" do
      assert {:ok, store} =
               Store.new_wasi(
                 %Wasmex.Wasi.WasiP2Options{inherit_stdout: false, inherit_stderr: false},
                 %Wasmex.StoreLimits{memory_size: 200 * 65_536}
               )

      assert {:ok, pid} =
               Components.start_link(bytes: component_bytes("component_types"), store: store)

      assert Components.instance(pid).store_resource == store.resource
      assert {:error, :timeout} = Components.call_function(pid, "spin", [], 20)
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert Components.instance(pid).store_resource != store.resource
      assert {:error, _} = call(pid, "trap", [])
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end

    test "with a given fuel-metered :store the server recovers after a trap" do
      assert {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{consume_fuel: true})
      assert {:ok, store} = Store.new(nil, engine)

      assert :ok =
               Wasmex.StoreOrCaller.set_fuel(
                 %Wasmex.StoreOrCaller{resource: store.resource, reference: make_ref()},
                 10_000_000
               )

      assert {:ok, pid} =
               Components.start_link(bytes: component_bytes("component_types"), store: store)

      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:error, _} = call(pid, "trap", [])
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end
  end

  describe "instance/1" do
    setup :types_server

    test "returns the bare instance struct", %{pid: pid} do
      assert %Instance{store_resource: store, instance_resource: res, reference: ref} =
               Components.instance(pid)

      assert is_reference(store) and is_reference(res) and is_reference(ref)
    end

    test "is stable while the instance works", %{pid: pid} do
      instance = Components.instance(pid)
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert Components.instance(pid) == instance
    end

    test "changes after the server replaced a broken instance", %{pid: pid} do
      before = Components.instance(pid)
      assert {:error, _} = call(pid, "trap", [])
      after_trap = Components.instance(pid)
      assert %Instance{} = after_trap
      assert after_trap.instance_resource != before.instance_resource
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end

    test "answers by registered name" do
      name = unique_name()
      start_component!("component_types", name: name)
      assert %Instance{} = Components.instance(name)
    end
  end

  describe "child_spec/1" do
    test "uses :name as the id" do
      assert %{id: :my_component, start: {Components, :start_link, [opts]}} =
               Components.child_spec(name: :my_component, path: "x.wasm")

      assert opts == [name: :my_component, path: "x.wasm"]
    end

    test "defaults the id to the module" do
      assert %{id: Components, start: {Components, :start_link, [[path: "x.wasm"]]}} =
               Components.child_spec(path: "x.wasm")
    end

    test "a supervised server is restarted after being killed and answers" do
      name = unique_name()

      {:ok, sup} =
        Supervisor.start_link(
          [{Components, name: name, bytes: component_bytes("component_types")}],
          strategy: :one_for_one
        )

      on_exit(fn -> if Process.alive?(sup), do: Process.exit(sup, :shutdown) end)

      first = Process.whereis(name)
      assert is_pid(first)
      assert {:ok, 1} = call(name, "counter-inc", [])
      assert {:ok, 2} = call(name, "counter-inc", [])

      ref = Process.monitor(first)
      Process.exit(first, :kill)
      assert_receive {:DOWN, ^ref, :process, ^first, :killed}, 2_000

      second = wait_until(fn -> (pid = Process.whereis(name)) && pid != first && pid end)
      assert is_pid(second)
      assert {:ok, 1} = call(name, "counter-inc", [])
      assert [{^name, ^second, :worker, [Components]}] = Supervisor.which_children(sup)
    end

    test "two named servers under one supervisor keep separate instances" do
      [a, b] = [unique_name(), unique_name()]

      {:ok, sup} =
        Supervisor.start_link(
          [
            {Components, name: a, bytes: component_bytes("component_types")},
            {Components, name: b, bytes: component_bytes("component_types")}
          ],
          strategy: :one_for_one
        )

      on_exit(fn -> if Process.alive?(sup), do: Process.exit(sup, :shutdown) end)
      assert length(Supervisor.which_children(sup)) == 2
      assert {:ok, 1} = call(a, "counter-inc", [])
      assert {:ok, 2} = call(a, "counter-inc", [])
      assert {:ok, 1} = call(b, "counter-inc", [])
    end
  end
end
