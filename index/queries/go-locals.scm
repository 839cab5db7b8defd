; Go scopes, local definitions and type evidence (see python-locals.scm). A struct's fields are
; @local.member of the struct named by @local.owner.

[(function_declaration) (method_declaration) (func_literal)] @local.scope

(parameter_declaration name: (identifier) @local.definition type: (_) @local.type)
(variadic_parameter_declaration name: (identifier) @local.definition)
(short_var_declaration
  left: (expression_list (identifier) @local.definition)
  right: (expression_list [(composite_literal type: (_) @local.constructor)
                           (unary_expression operand: (composite_literal type: (_) @local.constructor))]))
(short_var_declaration left: (expression_list (identifier) @local.definition))
(var_spec name: (identifier) @local.definition type: (_) @local.type)
(var_spec name: (identifier) @local.definition)
(const_spec name: (identifier) @local.definition)
(range_clause left: (expression_list (identifier) @local.definition))
(assignment_statement left: (expression_list (identifier) @local.definition))

(type_spec name: (type_identifier) @local.owner
  type: (struct_type (field_declaration_list
    (field_declaration name: (field_identifier) @local.member type: (_) @local.type))))
