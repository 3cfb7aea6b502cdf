defmodule Wasmex.Features.FlatListsTest do
  # The fast path for lists of numbers (native/wasmex/src/component/flat_nums.rs): `echo-T` takes
  # it, `slow-T` (an extra `u32` parameter) the dynamic path; both must give the same terms and
  # the same errors. A failure prints its seed; rerun with
  # PROPERTY_SEED=<seed> mix test test/features/flat_lists_test.exs.
  use Wasmex.ComponentCase, async: true

  import Bitwise

  alias Wasmex.Components.{Component, Instance, Store}
  alias Wasmex.FlatListFixtures, as: F
  alias Wasmex.Property, as: P

  @ints %{
    "s8" => {-128, 127},
    "u8" => {0, 255},
    "s16" => {-32_768, 32_767},
    "u16" => {0, 65_535},
    "s32" => {-(1 <<< 31), (1 <<< 31) - 1},
    "u32" => {0, (1 <<< 32) - 1},
    "s64" => {-(1 <<< 63), (1 <<< 63) - 1},
    "u64" => {0, (1 <<< 64) - 1}
  }

  setup_all do
    {:ok, store} = Store.new()
    {:ok, component} = Component.new(store, F.component())
    %{component: component}
  end

  setup %{component: component} do
    {:ok, store} = Store.new()
    {:ok, instance} = Instance.new(store, component, %{})
    %{i: instance}
  end

  defp fast(i, t, xs), do: Instance.call(i, "echo-#{t}", [xs])
  defp slow(i, t, xs), do: Instance.call(i, "slow-#{t}", [xs, 0])

  defp element("f32"), do: P.float_term(P.bits(32), 32)
  defp element("f64"), do: P.float_term(P.bits(64), 64)

  defp element(t) do
    {lo, hi} = @ints[t]

    case :rand.uniform(4) do
      1 -> Enum.random([lo, hi, 0, lo + 1, hi - 1])
      _ -> lo + :rand.uniform(hi - lo + 1) - 1
    end
  end

  test "random lists come back as they went in, on both paths", %{i: i} do
    seed = P.seed!(4242)

    for t <- F.types(), _ <- 1..25 do
      xs = for _ <- 1..:rand.uniform(300)//1, do: element(t)
      fast = fast(i, t, xs)
      assert fast == slow(i, t, xs), "#{t} (seed #{seed}): #{inspect(xs)}"
      assert fast == {:ok, xs}, "#{t} (seed #{seed}): #{inspect(xs)}"
    end
  end

  # Something the element type does not take: out of range, the other number kind, not a number.
  defp bad("f32"), do: Enum.random([1, 3.5e38, :nan_not, "1.0", [1.0]])
  defp bad("f64"), do: Enum.random([1, -1, :inf, "1.0", {1.0}])

  defp bad(t) do
    {lo, hi} = @ints[t]
    Enum.random([lo - 1, hi + 1, hi + (1 <<< 64), 1.0, :one, "1", [1]])
  end

  test "random lists with one bad element fail alike on both paths", %{i: i} do
    seed = P.seed!(777)

    for t <- F.types(), _ <- 1..20 do
      xs = for _ <- 1..:rand.uniform(50), do: element(t)
      xs = List.replace_at(xs, :rand.uniform(length(xs)) - 1, bad(t))
      assert {:error, _} = fast = fast(i, t, xs)
      assert fast == slow(i, t, xs), "#{t} (seed #{seed}): #{inspect(xs)}"
    end
  end

  test "empty lists, and the bounds of every integer type", %{i: i} do
    for t <- F.types() do
      assert {:ok, []} = fast(i, t, [])
      assert {:ok, []} = slow(i, t, [])
    end

    for {t, {lo, hi}} <- @ints do
      assert {:ok, [^lo, ^hi, 0]} = fast(i, t, [lo, hi, 0])
    end
  end

  test "non-finite floats and the float bounds", %{i: i} do
    specials = [:nan, :infinity, :neg_infinity, 0.0, -0.0]
    f32_max = P.float_term(0x7F7FFFFF, 32)
    f32_tiny = P.float_term(1, 32)

    assert {:ok, ^specials} = fast(i, "f64", specials)
    assert {:ok, ^specials} = fast(i, "f32", specials)

    assert {:ok, [1.7976931348623157e308, 5.0e-324]} =
             fast(i, "f64", [1.7976931348623157e308, 5.0e-324])

    assert {:ok, [^f32_max, ^f32_tiny]} = fast(i, "f32", [f32_max, f32_tiny])
    # Narrowed to f32 the way the dynamic path narrows.
    assert fast(i, "f32", [0.1, 1.0e-50]) == slow(i, "f32", [0.1, 1.0e-50])
  end

  test "1Mi elements in and out", %{i: i} do
    ints = for n <- 1..1_048_576, do: rem(n * 4093, 4_000_000_000) - 2_000_000_000
    assert {:ok, ^ints} = fast(i, "s32", ints)
    floats = for n <- 1..1_048_576, do: n / 7
    assert {:ok, ^floats} = fast(i, "f64", floats)
    assert fast(i, "f64", floats) == slow(i, "f64", floats)
    bytes = for n <- 1..1_048_576, do: rem(n, 256)
    assert {:ok, ^bytes} = fast(i, "u8", bytes)
  end

  test "two lists of different types", %{i: i} do
    assert {:ok, [1.5, :nan]} = Instance.call(i, "pair", [[1, 2], [1.5, :nan]])
    assert {:ok, []} = Instance.call(i, "pair", [[], []])
  end

  test "a list<u8> given as a binary or as a list of integers", %{i: i} do
    assert {:ok, [1, 2, 255]} = fast(i, "u8", <<1, 2, 255>>)
    assert {:ok, [1, 2, 255]} = fast(i, "u8", [1, 2, 255])
    assert slow(i, "u8", [1, 2, 255]) == {:ok, [1, 2, 255]}
  end

  describe "errors are the dynamic path's, byte for byte" do
    test "out-of-range integers", %{i: i} do
      for {t, {lo, hi}} <- @ints, bad <- [lo - 1, hi + 1, 1 <<< 70, -(1 <<< 70)] do
        xs = [0, bad]
        assert {:error, text} = fast(i, t, xs)
        assert {:error, ^text} = slow(i, t, xs)
        assert text =~ ~r/out of range for #{String.upcase(t)} at "list\[1\]" \(argument 1\)$/
      end

      assert {:error, "256 is out of range for U8 at \"list[2]\" (argument 1)"} =
               fast(i, "u8", [1, 2, 256])

      assert {:error, "4294967296 is out of range for U32 at \"list[0]\" (argument 1)"} =
               fast(i, "u32", [1 <<< 32])
    end

    test "wrong element and list types", %{i: i} do
      cases = [
        {"u32", [1, 2.0]},
        {"s64", [:a]},
        {"u16", ["1"]},
        {"f64", [1]},
        {"f32", [1.0, :other]},
        {"f32", [1.0e300]},
        {"u32", <<1, 2, 3, 4>>},
        {"f64", :nan},
        {"u8", %{}},
        {"s8", [[1]]}
      ]

      for {t, xs} <- cases do
        assert {:error, text} = fast(i, t, xs)
        assert {:error, ^text} = slow(i, t, xs)
      end

      assert {:error, "Could not convert Float to U32 at \"list[1]\" (argument 1)"} =
               fast(i, "u32", [1, 2.0])

      assert {:error, "Could not convert Integer to Float64 at \"list[0]\" (argument 1)"} =
               fast(i, "f64", [1])

      too_wide = "1" <> String.duplicate("0", 300)

      assert {:error, too_wide <> " is out of range for Float32 at \"list[0]\" (argument 1)"} ==
               fast(i, "f32", [1.0e300])

      assert {:error, "Could not convert Binary to List (argument 1)"} =
               fast(i, "u32", <<1, 2, 3, 4>>)
    end

    test "improper lists", %{i: i} do
      for t <- F.types(), xs <- [[1 | 2], [1, 2 | :tail]] do
        assert {:error, text} = fast(i, t, xs)
        assert {:error, ^text} = slow(i, t, xs)
        assert text == "Could not convert List to List (argument 1)"
      end

      assert {:error, "Could not convert List to List (argument 2)"} =
               Instance.call(i, "pair", [[1], [1.0 | 2.0]])
    end
  end
end
