defmodule Wasmex.Spec.Json do
  @moduledoc false
  # A small JSON decoder for the files `wasm-tools json-from-wast` writes (the project has no
  # dependencies, and Elixir 1.14 has no JSON module). Objects become maps with string keys.

  @spec decode!(binary()) :: term()
  def decode!(text) do
    {value, rest} = value(skip(text))

    case skip(rest) do
      "" ->
        value

      other ->
        raise ArgumentError, "trailing JSON: #{binary_part(other, 0, min(20, byte_size(other)))}"
    end
  end

  defp skip(<<c, rest::binary>>) when c in ~c[ \t\r\n], do: skip(rest)
  defp skip(rest), do: rest

  defp value(<<?{, rest::binary>>), do: object(skip(rest), %{})
  defp value(<<?[, rest::binary>>), do: array(skip(rest), [])
  defp value(<<?", rest::binary>>), do: string(rest, [])
  defp value(<<"true", rest::binary>>), do: {true, rest}
  defp value(<<"false", rest::binary>>), do: {false, rest}
  defp value(<<"null", rest::binary>>), do: {nil, rest}
  defp value(rest), do: number(rest)

  defp object(<<?}, rest::binary>>, acc), do: {acc, rest}

  defp object(<<?", rest::binary>>, acc) do
    {key, rest} = string(rest, [])
    <<?:, rest::binary>> = skip(rest)
    {val, rest} = value(skip(rest))
    acc = Map.put(acc, key, val)

    case skip(rest) do
      <<?,, rest::binary>> -> object(skip(rest), acc)
      <<?}, rest::binary>> -> {acc, rest}
    end
  end

  defp array(<<?], rest::binary>>, acc), do: {Enum.reverse(acc), rest}

  defp array(text, acc) do
    {val, rest} = value(text)

    case skip(rest) do
      <<?,, rest::binary>> -> array(skip(rest), [val | acc])
      <<?], rest::binary>> -> {Enum.reverse([val | acc]), rest}
    end
  end

  defp string(<<?", rest::binary>>, acc), do: {IO.iodata_to_binary(Enum.reverse(acc)), rest}

  defp string(<<?\\, ?u, hex::binary-size(4), rest::binary>>, acc) do
    code = String.to_integer(hex, 16)

    case {code, rest} do
      {hi, <<?\\, ?u, lo::binary-size(4), rest2::binary>>} when hi in 0xD800..0xDBFF ->
        lo = String.to_integer(lo, 16)
        string(rest2, [<<0x10000 + (hi - 0xD800) * 0x400 + (lo - 0xDC00)::utf8>> | acc])

      {code, _} when code in 0xD800..0xDFFF ->
        string(rest, ["\uFFFD" | acc])

      {code, _} ->
        string(rest, [<<code::utf8>> | acc])
    end
  end

  defp string(<<?\\, c, rest::binary>>, acc) do
    char =
      case c do
        ?n -> "\n"
        ?t -> "\t"
        ?r -> "\r"
        ?b -> "\b"
        ?f -> "\f"
        other -> <<other>>
      end

    string(rest, [char | acc])
  end

  defp string(text, acc) do
    case :binary.match(text, [<<?">>, <<?\\>>]) do
      {0, _} ->
        string_char(text, acc)

      {pos, _} ->
        string(binary_part(text, pos, byte_size(text) - pos), [binary_part(text, 0, pos) | acc])
    end
  end

  defp string_char(<<c, rest::binary>>, acc), do: string(rest, [<<c>> | acc])

  defp number(text) do
    {num, rest} = take_number(text, [])

    value =
      if String.contains?(num, [".", "e", "E"]),
        do: String.to_float(num),
        else: String.to_integer(num)

    {value, rest}
  end

  defp take_number(<<c, rest::binary>>, acc) when c in ~c[-+.eE0123456789],
    do: take_number(rest, [c | acc])

  defp take_number(rest, acc), do: {acc |> Enum.reverse() |> List.to_string(), rest}
end
