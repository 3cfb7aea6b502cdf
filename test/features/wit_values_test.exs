defmodule Wasmex.Features.WitValuesTest do
  # The WIT value mapping both ways (native/wasmex/src/convert/component*.rs): how each WIT type
  # is lowered from Elixir terms and lifted back, and the errors (with paths) for terms that do
  # not fit. Every call goes through a `Wasmex.Components` server.
  use Wasmex.ComponentCase, async: true

  alias Wasmex.Components

  @moduletag timeout: 60_000
  @moduletag :capture_log

  defmodule PointStruct do
    @moduledoc false
    defstruct [:x, :y]
  end

  # Every test gets a server of the types fixture as `pid`.
  setup :types_server

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

  # The echo function of the integer type `type` ("u16") refuses each of `values` as out of range.
  defp assert_out_of_range(pid, type, values) do
    for value <- values do
      message = "#{value} is out of range for #{String.upcase(type)} (argument 1)"
      assert {:error, ^message} = call(pid, "echo-#{type}", [value])
    end
  end

  describe "WIT types: bool and integers" do
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
      assert_out_of_range(pid, "u8", [256, 300])
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
      assert_out_of_range(pid, "s8", [128, -129])
    end

    test "u16 round-trips 0..65535 and rejects 65536", %{pid: pid} do
      for v <- [0, 65_535], do: assert({:ok, ^v} = call(pid, "echo-u16", [v]))

      assert_out_of_range(pid, "u16", [65_536])
    end

    test "s16 round-trips -32768..32767 and rejects the neighbours", %{pid: pid} do
      for v <- [-32_768, 32_767], do: assert({:ok, ^v} = call(pid, "echo-s16", [v]))

      assert_out_of_range(pid, "s16", [32_768, -32_769])
    end

    test "u32 and s32 bounds", %{pid: pid} do
      assert {:ok, 4_294_967_295} = call(pid, "echo-u32", [4_294_967_295])

      assert_out_of_range(pid, "u32", [4_294_967_296])

      assert {:ok, -2_147_483_648} = call(pid, "echo-s32", [-2_147_483_648])
      assert {:ok, 2_147_483_647} = call(pid, "echo-s32", [2_147_483_647])

      assert_out_of_range(pid, "s32", [2_147_483_648, -2_147_483_649])
    end

    test "u64 and s64 bounds (bignums)", %{pid: pid} do
      max_u64 = 18_446_744_073_709_551_615
      assert {:ok, ^max_u64} = call(pid, "echo-u64", [max_u64])

      assert_out_of_range(pid, "u64", [max_u64 + 1])

      assert {:ok, -9_223_372_036_854_775_808} =
               call(pid, "echo-s64", [-9_223_372_036_854_775_808])

      assert {:ok, 9_223_372_036_854_775_807} = call(pid, "echo-s64", [9_223_372_036_854_775_807])

      assert_out_of_range(pid, "s64", [9_223_372_036_854_775_808])
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
end
