-- status: where the user stands after the room has moved on to now.
tick()
return place(user)
