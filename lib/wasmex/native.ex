defmodule Wasmex.Native do
  @moduledoc false
  # The NIF stubs. The library is built by `Mix.Tasks.Compile.WasmexNative` from native/wasmex.

  @on_load :load_nif

  @doc false
  def load_nif do
    path = Path.join(:code.priv_dir(:wasmex), "native/libwasmex")
    :erlang.load_nif(String.to_charlist(path), 0)
  end

  defp err, do: :erlang.nif_error(:nif_not_loaded)

  def engine_new(_config), do: err()
  def engine_default, do: err()
  def engine_precompile_module(_engine, _bytes), do: err()

  def store_new(_limits, _engine), do: err()
  def store_new_wasi(_options, _limits, _engine), do: err()
  def store_new_wasi_p2(_options, _limits, _engine), do: err()
  def store_new_wasi_normal(_options, _limits, _engine), do: err()
  def store_new_wasi_p2_normal(_options, _limits, _engine), do: err()
  def store_new_wasi_run(_options, _limits, _module), do: err()
  def component_store_new_wasi_run(_options, _limits, _component), do: err()
  def store_renew(_store), do: err()
  def store_poisoned(_store_or_caller), do: err()
  def store_exit_code(_store_or_caller), do: err()
  def store_take_output(_store_or_caller, _all), do: err()
  def store_logs_output(_store_or_caller), do: err()
  def store_get_fuel(_store_or_caller), do: err()
  def store_set_fuel(_store_or_caller, _fuel), do: err()

  def module_compile(_store_or_caller, _bytes, _cache_dir), do: err()
  def module_name(_module), do: err()
  def module_exports(_module), do: err()
  def module_imports(_module), do: err()
  def module_exports_dirty(_module), do: err()
  def module_imports_dirty(_module), do: err()
  def module_serialize(_module), do: err()
  def module_unsafe_deserialize(_bytes, _engine), do: err()

  def wat_to_wasm(_wat), do: err()

  def pipe_new, do: err()
  def pipe_size(_pipe), do: err()
  def pipe_seek(_pipe, _pos), do: err()
  def pipe_read(_pipe), do: err()
  def pipe_write(_pipe, _bytes), do: err()
  def pipe_read_dirty(_pipe), do: err()
  def pipe_write_dirty(_pipe, _bytes), do: err()

  def instance_new(_store_or_caller, _module, _imports, _links, _timeout), do: err()
  def instance_new_dirty(_store_or_caller, _module, _imports, _links, _timeout), do: err()
  def instance_call(_store_or_caller, _instance, _name, _params, _timeout), do: err()
  def instance_function_export_exists(_instance, _name), do: err()
  def instance_call_floor(_store_or_caller, _instance, _name, _params), do: err()
  def instance_get_global(_store_or_caller, _instance, _name), do: err()
  def instance_set_global(_store_or_caller, _instance, _name, _value), do: err()

  def memory_from_instance(_store_or_caller, _instance), do: err()
  def memory_size(_store_or_caller, _memory), do: err()
  def memory_grow(_store_or_caller, _memory, _pages), do: err()
  def memory_read_binary(_store_or_caller, _memory, _index, _length), do: err()
  def memory_write_binary(_store_or_caller, _memory, _index, _bytes), do: err()
  def memory_read_binary_dirty(_store_or_caller, _memory, _index, _length), do: err()
  def memory_write_binary_dirty(_store_or_caller, _memory, _index, _bytes), do: err()

  def component_new(_store_or_caller, _bytes, _cache_dir, _binary_lists), do: err()
  def component_instance_new(_store_or_caller, _component, _imports, _timeout), do: err()
  def component_call(_store_or_caller, _instance, _path, _params, _timeout), do: err()
  def component_call_dirty(_store_or_caller, _instance, _path, _params, _timeout), do: err()
  def component_call_resource(_store_or_caller, _instance, _path, _params, _timeout), do: err()
  def guest_resource_call(_resource, _name, _params, _timeout), do: err()
  def guest_resource_drop(_resource, _timeout), do: err()
  def guest_resource_store(_resource), do: err()

  def wit_exported_functions(_path, _wit, _world), do: err()
  def component_exported_functions(_bytes, _engine), do: err()
  def wit_resources(_label, _wit, _path, _world, _imports), do: err()
  def component_wit(_bytes), do: err()

  def exec_continue(_store_or_caller), do: err()
  def exec_continue_dirty(_store_or_caller), do: err()
  def exec_resume_dirty(_store_or_caller, _reply), do: err()
  def exec_resume(_store_or_caller, _reply), do: err()
  def exec_cancel(_store_or_caller), do: err()
end
