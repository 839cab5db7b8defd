; C# tags.

(class_declaration
  name: (identifier) @name.definition.class) @definition.class

(record_declaration
  name: (identifier) @name.definition.class) @definition.class

(struct_declaration
  name: (identifier) @name.definition.struct) @definition.struct

(interface_declaration
  name: (identifier) @name.definition.interface) @definition.interface

(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum

(delegate_declaration
  name: (identifier) @name.definition.type) @definition.type

(method_declaration
  name: (identifier) @name.definition.method) @definition.method

(constructor_declaration
  name: (identifier) @name.definition.method) @definition.method

(local_function_statement
  name: (identifier) @name.definition.function) @definition.function

(namespace_declaration
  name: [(identifier) (qualified_name)] @name.definition.module) @definition.module

(invocation_expression
  function: [(identifier) @name.reference.call
             (member_access_expression name: (identifier) @name.reference.call)
             (generic_name (identifier) @name.reference.call)
             (member_access_expression name: (generic_name (identifier) @name.reference.call))]) @reference.call

(object_creation_expression
  type: [(identifier) @name.reference.call
         (qualified_name name: (identifier) @name.reference.call)
         (generic_name (identifier) @name.reference.call)]) @reference.call

(base_list
  [(identifier) @name.reference.type
   (generic_name (identifier) @name.reference.type)
   (qualified_name name: (identifier) @name.reference.type)]) @reference.type

(variable_declaration
  type: [(identifier) @name.reference.type
         (generic_name (identifier) @name.reference.type)]) @reference.type

(parameter
  type: [(identifier) @name.reference.type
         (generic_name (identifier) @name.reference.type)]) @reference.type

(using_directive
  [(identifier) @name.reference.import
   (qualified_name) @name.reference.import]) @reference.import
