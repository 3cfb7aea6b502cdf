defmodule Wasmex.Spec.Values do
  @moduledoc false
  # Spec-test values (JSON from `wasm-tools json-from-wast`) <-> the public API's values.
  # Integers and floats are given as the decimal of their bits. The API takes signed integers,
  # floats, `:nan`/`:infinity`/`:neg_infinity` and a v128 as one unsigned integer; it cannot
  # express references or a NaN's payload (such values are `:unrepresentable`).

  import Bitwise

  @canonical32 0x7FC00000
  @canonical64 0x7FF8000000000000

  @doc "The API value for a spec argument, or `:unrepresentable`."
  @spec arg(map()) :: {:ok, term()} | :unrepresentable
  def arg(%{"type" => "i32", "value" => v}), do: {:ok, signed(bits(v, 32), 32)}
  def arg(%{"type" => "i64", "value" => v}), do: {:ok, signed(bits(v, 64), 64)}
  def arg(%{"type" => "f32", "value" => v}), do: float_arg(bits(v, 32), 32)
  def arg(%{"type" => "f64", "value" => v}), do: float_arg(bits(v, 64), 64)

  def arg(%{"type" => "v128", "lane_type" => lane, "value" => lanes}),
    do: {:ok, v128(lane, lanes)}

  def arg(_ref), do: :unrepresentable

  @doc "The API values for a list of spec arguments, or `:unrepresentable`."
  @spec args([map()]) :: {:ok, list()} | :unrepresentable
  def args(args) do
    Enum.reduce_while(args, {:ok, []}, fn a, {:ok, acc} ->
      case arg(a) do
        {:ok, v} -> {:cont, {:ok, [v | acc]}}
        :unrepresentable -> {:halt, :unrepresentable}
      end
    end)
    |> case do
      {:ok, list} -> {:ok, Enum.reverse(list)}
      other -> other
    end
  end

  @doc "Whether an expected result list can be compared with what the API returns."
  @spec representable?([map()]) :: boolean()
  def representable?(expected), do: Enum.all?(expected, &representable_one?/1)

  defp representable_one?(%{"type" => "either", "values" => vs}),
    do: Enum.all?(vs, &representable_one?/1)

  defp representable_one?(%{"type" => t}), do: t in ~w(i32 i64 f32 f64 v128)

  @doc "Whether `got` (what the API returned) matches the expected spec results."
  @spec match?([map()], list()) :: boolean()
  def match?(expected, got) when length(expected) == length(got),
    do: expected |> Enum.zip(got) |> Enum.all?(fn {e, g} -> one?(e, g) end)

  def match?(_expected, _got), do: false

  defp one?(%{"type" => "either", "values" => vs}, got), do: Enum.any?(vs, &one?(&1, got))

  defp one?(%{"type" => "i32", "value" => v}, got),
    do: is_integer(got) and (got &&& 0xFFFFFFFF) == bits(v, 32)

  defp one?(%{"type" => "i64", "value" => v}, got),
    do: is_integer(got) and (got &&& 0xFFFFFFFFFFFFFFFF) == bits(v, 64)

  defp one?(%{"type" => "f32", "value" => v}, got), do: float?(v, got, 32)
  defp one?(%{"type" => "f64", "value" => v}, got), do: float?(v, got, 64)

  defp one?(%{"type" => "v128", "lane_type" => lane, "value" => lanes}, got)
       when is_integer(got) do
    width = lane_width(lane)

    lanes
    |> Enum.with_index()
    |> Enum.all?(fn {expected, i} ->
      lane_bits = got >>> (i * width) &&& (1 <<< width) - 1

      case {lane, expected} do
        {l, "nan:" <> _} when l in ["f32", "f64"] -> nan_bits?(expected, lane_bits, width)
        _ -> lane_bits == (String.to_integer(expected) &&& (1 <<< width) - 1)
      end
    end)
  end

  defp one?(_expected, _got), do: false

  # A NaN comes out as `:nan` whatever its payload, so any expected NaN matches it.
  defp float?("nan:" <> _, got, _width), do: got == :nan

  defp float?(v, got, width) do
    case {float_arg(bits(v, width), width), got} do
      {{:ok, :nan}, g} -> g == :nan
      {:unrepresentable, g} -> g == :nan
      {{:ok, a}, g} when is_atom(a) -> a == g
      {{:ok, _}, g} when is_float(g) -> float_bits(g, width) == bits(v, width)
      _ -> false
    end
  end

  defp nan_bits?("nan:canonical", b, 32), do: (b &&& 0x7FFFFFFF) == @canonical32
  defp nan_bits?("nan:canonical", b, 64), do: (b &&& 0x7FFFFFFFFFFFFFFF) == @canonical64
  defp nan_bits?("nan:arithmetic", b, 32), do: (b &&& @canonical32) == @canonical32
  defp nan_bits?("nan:arithmetic", b, 64), do: (b &&& @canonical64) == @canonical64

  defp float_arg(b, 32), do: special(b, 0x7F800000, 0x007FFFFF, @canonical32, 32)
  defp float_arg(b, 64), do: special(b, 0x7FF0000000000000, 0x000FFFFFFFFFFFFF, @canonical64, 64)

  defp special(b, exp, frac, canonical, width) do
    sign = b >>> (width - 1)

    cond do
      (b &&& exp) != exp -> {:ok, from_bits(b, width)}
      (b &&& frac) == 0 -> {:ok, if(sign == 1, do: :neg_infinity, else: :infinity)}
      b == canonical -> {:ok, :nan}
      true -> :unrepresentable
    end
  end

  defp from_bits(b, 32) do
    <<f::float-32>> = <<b::32>>
    f
  end

  defp from_bits(b, 64) do
    <<f::float-64>> = <<b::64>>
    f
  end

  defp float_bits(f, 32) do
    <<b::32>> = <<f::float-32>>
    b
  end

  defp float_bits(f, 64) do
    <<b::64>> = <<f::float-64>>
    b
  end

  defp v128(lane, lanes) do
    width = lane_width(lane)

    lanes
    |> Enum.with_index()
    |> Enum.reduce(0, fn {v, i}, acc -> acc ||| bits(v, width) <<< (i * width) end)
  end

  defp lane_width("i8"), do: 8
  defp lane_width("i16"), do: 16
  defp lane_width(l) when l in ["i32", "f32"], do: 32
  defp lane_width(l) when l in ["i64", "f64"], do: 64

  defp bits(v, width), do: String.to_integer(v) &&& (1 <<< width) - 1

  defp signed(b, width), do: if(b >= 1 <<< (width - 1), do: b - (1 <<< width), else: b)
end
