defmodule Wasmex.GuestOutput do
  @moduledoc false
  # Sends the lines a guest wrote to stdout and stderr to Logger, for stores made with
  # `log_output: true` (`Wasmex.Wasi.WasiOptions`, `Wasmex.Wasi.WasiP2Options`). The NIF keeps
  # the lines (`Native.store_take_output/2`); whoever runs calls on the store (the servers, pool
  # members) asks `wanted?/1` once and calls `log/3` after each call. The store says whether it
  # logs, so a store given with `:store` (or renewed from one) logs as it was made to.

  require Logger

  alias Wasmex.Native

  @doc false
  # Whether `store` (a store resource) was made with `log_output: true`.
  @spec wanted?(reference()) :: boolean()
  def wanted?(store), do: Native.store_logs_output(store) == {:ok, true}

  @doc false
  # Logs the complete lines waiting in `store` (a store resource): stdout at `:info`, stderr at
  # `:warning`, with the stream, the server (the calling process's name, else its pid), the
  # function (a core export's name, or a component export's path joined by `#`) and `extra`
  # (a pool member adds `wasm_pool:`) in the metadata.
  @spec log(reference(), binary() | [binary()], keyword()) :: :ok
  def log(store, function, extra \\ []) do
    case Native.store_take_output(store, false) do
      {:ok, [_ | _] = lines} ->
        metadata = [wasm_server: server_name(), wasm_function: function_name(function)] ++ extra

        for {stream, line} <- lines do
          Logger.log(level(stream), line, [wasm_stream: stream] ++ metadata)
        end

        :ok

      _ ->
        :ok
    end
  end

  defp level(:stdout), do: :info
  defp level(:stderr), do: :warning

  defp function_name(path) when is_list(path), do: Enum.join(path, "#")
  defp function_name(name), do: name

  defp server_name do
    case Process.info(self(), :registered_name) do
      {:registered_name, name} when is_atom(name) -> name
      _ -> self()
    end
  end
end
