defmodule Wasmex.Server do
  @moduledoc false
  # What the servers (`Wasmex`, `Wasmex.Components` and the modules of
  # `use Wasmex.Components.ComponentServer`) share: starting, child specs, the GenServer options
  # they pass through, and handles published for readers that must not wait on the server.

  # The options of GenServer.start/3 that a server's start options may carry.
  @gen_server_keys [:name, :timeout, :debug, :spawn_opt, :hibernate_after]

  @doc false
  # Starts `module` with `init_arg` and links it to the caller, like GenServer.start_link/3,
  # except when `init/1` fails: then the caller gets `{:error, reason}` and no exit signal.
  # (GenServer.start_link/3 links before `init/1` runs, so on OTP 25 a failed init also sends the
  # caller an exit signal with the reason, and a caller that does not trap exits dies of it. The
  # 0.15.1 API returns compile and instantiation failures as values.) `opts` are the server's
  # start options (a map or a keyword list); the GenServer ones among them are passed on.
  @spec start(module(), term(), map() | keyword()) :: GenServer.on_start()
  def start(module, init_arg, opts) do
    with {:ok, pid} <- GenServer.start(module, init_arg, gen_server_options(opts)) do
      Process.link(pid)
      {:ok, pid}
    end
  end

  @doc false
  # The GenServer options among a server's start options.
  @spec gen_server_options(map() | keyword()) :: keyword()
  def gen_server_options(opts) when is_map(opts),
    do: opts |> Map.to_list() |> gen_server_options()

  def gen_server_options(opts) when is_list(opts), do: Keyword.take(opts, @gen_server_keys)

  @doc false
  # A child spec starting `module.start_link(opts)`, with the server's `:name` as its id.
  @spec child_spec(module(), map() | keyword()) :: Supervisor.child_spec()
  def child_spec(module, opts) do
    name = if is_map(opts), do: Map.get(opts, :name), else: Keyword.get(Keyword.new(opts), :name)
    %{id: name || module, start: {module, :start_link, [opts]}}
  end

  @doc false
  # Publishes `value` under `key` in the calling server's process dictionary, for `published/2`.
  # Only for values that never change while the server lives.
  @spec publish(atom(), term()) :: :ok
  def publish(key, value) do
    Process.put(key, value)
    :ok
  end

  @doc false
  # Reads what a local server published under `key`, without a message to the server. A server
  # runs the Elixir imports of its guest itself, so while an import runs it answers no calls; an
  # import that asks its own server for, say, the instance's memory would wait on itself. The
  # value is read from the server's process dictionary instead (`Process.info/2`), which answers
  # at any time. `:error` when the server is remote, not running, or has not published `key`.
  @spec published(GenServer.server(), atom()) :: {:ok, term()} | :error
  def published(server, key) do
    with pid when is_pid(pid) and node(pid) == node() <- GenServer.whereis(server),
         {:dictionary, dict} <- Process.info(pid, :dictionary),
         {_, value} <- List.keyfind(dict, key, 0) do
      {:ok, value}
    else
      _ -> :error
    end
  end
end
