defmodule Wasmex.Property do
  @moduledoc false
  # A small property-test helper (no Hex dependencies): random values from `:rand` with a fixed
  # seed, which failing assertions print so that a run can be repeated with PROPERTY_SEED=<n>.

  import Bitwise

  @doc "Seeds `:rand` for this process and returns the seed (PROPERTY_SEED or `default`)."
  @spec seed!(integer()) :: integer()
  def seed!(default) do
    seed = String.to_integer(System.get_env("PROPERTY_SEED") || Integer.to_string(default))
    :rand.seed(:exsss, {seed, seed * 7 + 1, seed * 13 + 2})
    seed
  end

  @doc "A random bit pattern of `width` bits, often one of the interesting float patterns."
  @spec bits(32 | 64 | 128) :: non_neg_integer()
  def bits(width) do
    case :rand.uniform(4) do
      1 -> Enum.random(specials(width))
      _ -> :rand.uniform(1 <<< width) - 1
    end
  end

  defp specials(32),
    do: [
      0x7FC00000,
      0xFFC00000,
      0x7F800001,
      0x7FBFFFFF,
      0x7F800000,
      0xFF800000,
      0,
      0x80000000,
      1,
      0x7F7FFFFF
    ]

  defp specials(64),
    do: [
      0x7FF8000000000000,
      0xFFF8000000000001,
      0x7FF0000000000001,
      0x7FF0000000000000,
      0xFFF0000000000000,
      0,
      0x8000000000000000,
      1,
      0x7FEFFFFFFFFFFFFF
    ]

  defp specials(128), do: [0, (1 <<< 128) - 1, 0x7FC00000, 1 <<< 127]

  @doc "The Elixir term for the float with these bits: a float, `:nan`, `:infinity` or `:neg_infinity`."
  @spec float_term(non_neg_integer(), 32 | 64) :: float() | atom()
  def float_term(b, 32),
    do: special(b, 0x7F800000, 0x007FFFFF, 32) || (fn <<f::float-32>> -> f end).(<<b::32>>)

  def float_term(b, 64),
    do:
      special(b, 0x7FF0000000000000, 0x000FFFFFFFFFFFFF, 64) ||
        (fn <<f::float-64>> -> f end).(<<b::64>>)

  defp special(b, exp, frac, width) do
    cond do
      (b &&& exp) != exp -> nil
      (b &&& frac) != 0 -> :nan
      b >>> (width - 1) == 1 -> :neg_infinity
      true -> :infinity
    end
  end

  @doc "The bits of a float term (a NaN as the canonical quiet NaN)."
  @spec term_bits(float() | atom(), 32 | 64) :: non_neg_integer()
  def term_bits(:nan, 32), do: 0x7FC00000
  def term_bits(:infinity, 32), do: 0x7F800000
  def term_bits(:neg_infinity, 32), do: 0xFF800000
  def term_bits(:nan, 64), do: 0x7FF8000000000000
  def term_bits(:infinity, 64), do: 0x7FF0000000000000
  def term_bits(:neg_infinity, 64), do: 0xFFF0000000000000
  def term_bits(f, 32), do: (fn <<b::32>> -> b end).(<<f::float-32>>)
  def term_bits(f, 64), do: (fn <<b::64>> -> b end).(<<f::float-64>>)

  @doc "Whether `b` is a NaN pattern of `width` bits."
  @spec nan_bits?(non_neg_integer(), 32 | 64) :: boolean()
  def nan_bits?(b, width), do: float_term(b, width) == :nan

  @doc "The signed integer with these `width` bits."
  @spec signed(non_neg_integer(), pos_integer()) :: integer()
  def signed(b, width), do: if(b >= 1 <<< (width - 1), do: b - (1 <<< width), else: b)

  @doc """
  A malformed term: improper lists, wrong types, deep nesting, huge integers, bad UTF-8 (left
  out with `binaries: false`, for places where any bytes are valid).
  """
  @spec malformed(keyword()) :: term()
  def malformed(opts \\ []) do
    case Enum.random(
           if(opts[:binaries] == false, do: [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12], else: 1..12)
         ) do
      1 -> [1 | 2]
      2 -> ["a", "b" | "c"]
      3 -> Enum.reduce(1..:rand.uniform(2000), [], fn _, acc -> [acc] end)
      4 -> Enum.reduce(1..:rand.uniform(200), :x, fn _, acc -> {[acc | :tail]} end)
      5 -> 1 <<< (64 + :rand.uniform(500))
      6 -> -(1 <<< (64 + :rand.uniform(500)))
      7 -> <<0xFF, 0xFE, :rand.uniform(255)>>
      8 -> self()
      9 -> make_ref()
      10 -> %{[1 | 2] => {:some, [3 | 4]}}
      11 -> fn -> :x end
      12 -> <<1::3>>
    end
  end
end
